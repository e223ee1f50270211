//! The witness (`certeza witness`) over a real socket, and a log server that
//! collects its cosignatures and serves them with the checkpoint.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use certeza_log::Hash;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::cosignature::CosignatureVerifier;
use certeza_log::merkle::{hash_leaf, prove_tree, stored_hashes_for_record_hash, tree_hash};
use certeza_log::note::{NoteSigner, NoteVerifier, Verifier, open_note, parse_note, sign_note};
use certeza_log::witness::AddCheckpointRequest;

use super::Running;

fn certeza(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_certeza"));
    command.arg("--data").arg(data).env("CERTEZA_LOG", "warn");
    command
}

/// Starts a witness and returns it with its base URL and cosigner vkey.
fn start_witness(data: &Path, logs: &[String]) -> (Running, String, String) {
    let mut command = certeza(data);
    command.args(["witness", "--listen", "127.0.0.1:0", "--name", "test.example/witness"]);
    for log in logs {
        command.arg("--log").arg(log);
    }
    let running = Running::start(&mut command);
    let vkey = running.line_after("witness vkey: ");
    let address = running.line_after("listening at ");
    let url = address.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
    (running, url, vkey)
}

fn post(url: &str, body: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.post(&format!("{url}/add-checkpoint")).send(body.as_bytes()).unwrap();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status().as_u16(), content_type, response.body_mut().read_to_string().unwrap())
}

/// A toy log: its stored hashes, so roots and proofs can be computed.
struct ToyLog {
    hashes: Vec<Hash>,
    size: u64,
}

impl ToyLog {
    fn grow_to(&mut self, size: u64) {
        while self.size < size {
            let added = stored_hashes_for_record_hash(self.size, &hash_leaf(&self.size.to_be_bytes()), &self.hashes);
            self.hashes.extend(added.unwrap());
            self.size += 1;
        }
    }

    fn checkpoint(&self, origin: &str, size: u64, signer: &NoteSigner) -> String {
        let root = tree_hash(size, &self.hashes).unwrap();
        sign_note(
            &Checkpoint { origin: origin.into(), size, root, extensions: vec![] }.to_note_text().unwrap(),
            &[signer],
        )
        .unwrap()
    }

    fn request(&self, old: u64, new: u64, origin: &str, signer: &NoteSigner) -> String {
        let proof = if old == 0 { vec![] } else { prove_tree(new, old, &self.hashes).unwrap() };
        AddCheckpointRequest { old_size: old, proof, checkpoint: self.checkpoint(origin, new, signer) }
            .encode()
            .unwrap()
    }
}

#[test]
fn the_witness_follows_tlog_witness_and_survives_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let origin = "test.example/log";
    let signer = NoteSigner::from_seed(origin, [1; 32]).unwrap();
    let logs = [format!("{origin}={}", signer.verifier_key_string())];
    let (witness, url, vkey) = start_witness(directory.path(), &logs);
    let verifier = CosignatureVerifier::parse(&vkey).unwrap();
    let mut log = ToyLog { hashes: vec![], size: 0 };
    log.grow_to(12);

    // Accepted: 200 and a cosignature over the checkpoint text.
    let (status, _, body) = post(&url, &log.request(0, 5, origin, &signer));
    assert_eq!(status, 200, "{body}");
    let text = parse_note(log.checkpoint(origin, 5, &signer).as_bytes()).unwrap().text;
    verifier.verify_line(&text, &body).unwrap();
    let (status, _, body) = post(&url, &log.request(5, 10, origin, &signer));
    assert_eq!(status, 200, "{body}");
    let text = parse_note(log.checkpoint(origin, 10, &signer).as_bytes()).unwrap().text;
    verifier.verify_line(&text, &body).unwrap();

    // A stale old size: 409 with the recorded size.
    let (status, content_type, body) = post(&url, &log.request(5, 12, origin, &signer));
    assert_eq!((status, content_type.as_str(), body.as_str()), (409, "text/x.tlog.size", "10\n"));

    // A bad consistency proof: 422.
    let mut request = AddCheckpointRequest::parse(log.request(10, 12, origin, &signer).as_bytes()).unwrap();
    request.proof[0][0] ^= 1;
    let (status, _, body) = post(&url, &request.encode().unwrap());
    assert_eq!(status, 422, "{body}");

    // Not signed by the log's key: 403. An unknown origin: 404.
    let stranger = NoteSigner::from_seed(origin, [2; 32]).unwrap();
    let (status, _, body) = post(&url, &log.request(10, 12, origin, &stranger));
    assert_eq!(status, 403, "{body}");
    let other = NoteSigner::from_seed("other.example/log", [1; 32]).unwrap();
    let (status, _, _) = post(&url, &log.request(0, 3, "other.example/log", &other));
    assert_eq!(status, 404);
    // A malformed body: 400.
    assert_eq!(post(&url, "old x\n\nnothing").0, 400);

    // After a restart the witness keeps its key and its state: it still
    // refuses to cosign from size 0, and goes on from size 10.
    drop(witness);
    let (_witness, url, vkey_again) = start_witness(directory.path(), &logs);
    assert_eq!(vkey_again, vkey);
    let (status, _, body) = post(&url, &log.request(0, 12, origin, &signer));
    assert_eq!((status, body.as_str()), (409, "10\n"));
    let (status, _, body) = post(&url, &log.request(10, 12, origin, &signer));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_log_serves_its_checkpoint_with_the_witness_cosignature() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("log");
    assert!(certeza(&data).arg("init").output().unwrap().status.success());
    let output = certeza(&data).args(["log", "vkey"]).output().unwrap();
    let log_vkey = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let log_verifier = NoteVerifier::parse(&log_vkey).unwrap();
    let (_witness, witness_url, witness_vkey) =
        start_witness(&directory.path().join("witness"), &[format!("{}={log_vkey}", log_verifier.name())]);
    cosigned_checkpoint_story(directory.path(), &data, &log_vkey, &witness_url, &witness_vkey);
}

/// A Certeza server can itself witness other logs at `/log/add-checkpoint`.
#[test]
fn a_certeza_server_witnesses_another_log_at_log_add_checkpoint() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("log");
    assert!(certeza(&data).arg("init").output().unwrap().status.success());
    let output = certeza(&data).args(["log", "vkey"]).output().unwrap();
    let log_vkey = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let log_verifier = NoteVerifier::parse(&log_vkey).unwrap();
    let witness_data = directory.path().join("witnessing-server");
    assert!(certeza(&witness_data).arg("init").output().unwrap().status.success());
    let witness_server = Running::start(
        certeza(&witness_data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CERTEZA_WITNESS__FOLLOWS", format!("[\"{}={log_vkey}\"]", log_verifier.name()))
            .env("CERTEZA_WITNESS__NAME", "other.example/witness"),
    );
    let witness_vkey = witness_server.line_after("witness vkey: ");
    let witness_base =
        witness_server.line_after("serving at ").split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
    cosigned_checkpoint_story(directory.path(), &data, &log_vkey, &format!("{witness_base}/log"), &witness_vkey);
}

/// Runs the log in `data` with the witness at `witness_url` configured and
/// checks that its checkpoints are served cosigned and still audit.
fn cosigned_checkpoint_story(directory: &Path, data: &Path, log_vkey: &str, witness_url: &str, witness_vkey: &str) {
    let log_verifier = NoteVerifier::parse(log_vkey).unwrap();
    let witness_verifier = CosignatureVerifier::parse(witness_vkey).unwrap();

    let server = Running::start(
        certeza(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CERTEZA_LOG__SUBMIT_TOKEN", "test-token")
            .env("CERTEZA_LOG__BATCH_INTERVAL_MS", "20")
            .env("CERTEZA_LOG__WITNESSES", format!("[{{ url = \"{witness_url}\", vkey = \"{witness_vkey}\" }}]")),
    );
    let base = server.line_after("serving at ").split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut seen_sizes = Vec::new();
    for round in 0..3 {
        for i in 0..4 {
            let response = agent
                .post(&format!("{base}/v1/log/entries"))
                .header("Authorization", "Bearer test-token")
                .content_type("application/json")
                .send(format!(r#"{{"kind":"test","actor":"a{round}{i}","purpose":"witnessing"}}"#).as_bytes())
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
        }
        // The checkpoint is served with the log's signature and a valid
        // cosignature of the witness, once the witness has answered.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let note =
                agent.get(&format!("{base}/log/checkpoint")).call().unwrap().body_mut().read_to_string().unwrap();
            let verifiers: [&dyn Verifier; 2] = [&log_verifier, &witness_verifier];
            let opened = open_note(note.as_bytes(), &verifiers).unwrap();
            let size = Checkpoint::parse(&opened.text).unwrap().size;
            if opened.verified.len() == 2 && size >= (round + 1) * 4 {
                seen_sizes.push(size);
                break;
            }
            assert!(Instant::now() < deadline, "no cosigned checkpoint of size {} yet: {note}", (round + 1) * 4);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(seen_sizes.windows(2).all(|w| w[0] < w[1]), "{seen_sizes:?}");

    // The cosigned checkpoint still audits with the log's key alone.
    let state = directory.join("audit.state");
    let audit = certeza(data)
        .args(["log", "audit", &format!("{base}/log"), "--vkey", log_vkey, "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
}
