//! Crash safety of the transparency log: the real binary serves on a data
//! directory while several threads submit entries synchronously; it is killed
//! with SIGKILL at random moments and restarted on the same directory. At the
//! end every acknowledged entry must be in the log at its index with a valid
//! receipt against the final checkpoint, and every checkpoint observed along
//! the way must be consistent with every later one.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certeza_log::Hash;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::merkle::{hash_leaf, verify_consistency};
use certeza_log::note::{NoteVerifier, Verifier, open_note};
use certeza_log::proof::{Receipt, verify_receipt};
use certeza_store::Store;
use certeza_store::log::LogStore;

const TOKEN: &str = "fault-test-token";
const SUBMITTERS: usize = 6;
const KILLS: usize = 5;

fn certeza(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_certeza"));
    command.arg("--data").arg(data).env("CERTEZA_LOG", "error");
    command
}

/// Starts `serve` and returns the child and its base URL.
pub(super) fn start_server(data: &Path) -> (Child, String) {
    let mut child = certeza(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CERTEZA_LOG__SUBMIT_TOKEN", TOKEN)
        .env("CERTEZA_LOG__BATCH_INTERVAL_MS", "20")
        .env("CERTEZA_LOG__LEASE_TTL_MS", "400")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the server exited before serving").unwrap();
        if let Some(rest) = line.split("serving at ").nth(1) {
            break rest.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    (child, base)
}

/// A small deterministic generator for the kill times (xorshift).
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

struct Acknowledged {
    index: u64,
    receipt: String,
}

#[test]
fn acknowledged_entries_survive_sigkill_and_checkpoints_stay_consistent() {
    let started = Instant::now();
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    assert!(certeza(&data).arg("init").output().unwrap().status.success());
    let vkey = String::from_utf8(certeza(&data).args(["log", "vkey"]).output().unwrap().stdout).unwrap();
    let verifier = NoteVerifier::parse(vkey.trim()).unwrap();
    let origin = verifier.name().to_owned();

    let url: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    // (size, root) of every checkpoint seen, in the order seen.
    let observed = Arc::new(Mutex::new(Vec::<(u64, Hash)>::new()));

    let mut threads = Vec::new();
    for submitter in 0..SUBMITTERS {
        let (url, stop, acknowledged) = (url.clone(), stop.clone(), acknowledged.clone());
        threads.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(20)))
                .http_status_as_error(false)
                .build()
                .into();
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let Some(base) = url.lock().unwrap().clone() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                n += 1;
                let body = format!(r#"{{"kind":"fault-test","actor":"submitter-{submitter}-{n}","purpose":"crash"}}"#);
                let response = agent
                    .post(&format!("{base}/v1/log/entries"))
                    .header("Authorization", &format!("Bearer {TOKEN}"))
                    .content_type("application/json")
                    .send(body.as_bytes());
                // Only a 201 is an acknowledgement; a killed connection or a
                // 503 (not covered in time) promises nothing.
                let Ok(mut response) = response else { continue };
                if response.status().as_u16() != 201 {
                    continue;
                }
                let Ok(text) = response.body_mut().read_to_string() else { continue };
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                acknowledged.lock().unwrap().push(Acknowledged {
                    index: json["index"].as_u64().unwrap(),
                    receipt: json["receipt"].as_str().unwrap().to_owned(),
                });
            }
        }));
    }
    {
        let (url, stop, observed) = (url.clone(), stop.clone(), observed.clone());
        let verifier = verifier.clone();
        threads.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(5)))
                .http_status_as_error(false)
                .build()
                .into();
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(25));
                let Some(base) = url.lock().unwrap().clone() else { continue };
                let Ok(mut response) = agent.get(&format!("{base}/log/checkpoint")).call() else { continue };
                if response.status().as_u16() != 200 {
                    continue;
                }
                let Ok(note) = response.body_mut().read_to_string() else { continue };
                let opened = open_note(note.as_bytes(), &[&verifier as &dyn Verifier]).unwrap();
                let checkpoint = Checkpoint::parse(&opened.text).unwrap();
                observed.lock().unwrap().push((checkpoint.size, checkpoint.root));
            }
        }));
    }

    let mut random = Random(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let audit_state = directory.path().join("audit.state");
    let mut acknowledged_per_round = Vec::new();
    for round in 0..=KILLS {
        let (mut child, base) = start_server(&data);
        *url.lock().unwrap() = Some(base.clone());
        std::thread::sleep(Duration::from_millis(400 + random.below(1200)));
        if round == KILLS {
            // The last run ends cleanly: stop the submitters, then audit the
            // log over HTTP against the state kept across all the restarts.
            stop.store(true, Ordering::SeqCst);
            for thread in threads.drain(..) {
                thread.join().unwrap();
            }
            for _ in 0..2 {
                let audit = certeza(&data)
                    .args(["log", "audit", &format!("{base}/log"), "--vkey", vkey.trim(), "--state"])
                    .arg(&audit_state)
                    .output()
                    .unwrap();
                assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
            }
        } else {
            let audit = certeza(&data)
                .args(["log", "audit", &format!("{base}/log"), "--vkey", vkey.trim(), "--state"])
                .arg(&audit_state)
                .output()
                .unwrap();
            assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
            std::thread::sleep(Duration::from_millis(random.below(300)));
        }
        *url.lock().unwrap() = None;
        child.kill().unwrap(); // SIGKILL.
        child.wait().unwrap();
        acknowledged_per_round.push(acknowledged.lock().unwrap().len());
    }

    // Check everything against the database, opened directly.
    let store = Store::open(&format!("sqlite://{}", data.join("certeza.db").display())).unwrap();
    let log = LogStore::new(&store);
    let head = log.latest_checkpoint().unwrap().unwrap();
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(acknowledged.len() > 50, "too few acknowledged entries: {acknowledged_per_round:?}");
    let log_verifiers: [&dyn Verifier; 1] = [&verifier];
    let mut checkpoints: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut indexes = std::collections::HashSet::new();
    for ack in &acknowledged {
        assert!(indexes.insert(ack.index), "two acknowledgements for index {}", ack.index);
        let receipt = Receipt::parse(ack.receipt.as_bytes()).unwrap();
        assert_eq!(receipt.index, ack.index);
        let entry = receipt.extra.clone().unwrap();
        let leaf = hash_leaf(&entry);
        // The receipt the submitter got verifies on its own...
        let verified = verify_receipt(&receipt, &origin, &leaf, &log_verifiers, &[]).unwrap();
        let previous = checkpoints.insert(verified.checkpoint.size, verified.checkpoint.root);
        assert!(previous.is_none_or(|root| root == verified.checkpoint.root));
        // ...the entry is at its index now...
        assert_eq!(log.entries(ack.index, ack.index + 1).unwrap(), [entry]);
        // ...and has a valid receipt against the final checkpoint.
        let fresh = log.receipt(ack.index).unwrap().unwrap();
        let final_check = verify_receipt(&fresh, &origin, &leaf, &log_verifiers, &[]).unwrap();
        assert_eq!((final_check.checkpoint.size, final_check.checkpoint.root), (head.size, head.root));
    }

    // Every checkpoint observed over HTTP, in the order observed, never shrank,
    // and all checkpoints seen (there and in receipts) are consistent with
    // each next larger one, up to the final one.
    let observed = std::mem::take(&mut *observed.lock().unwrap());
    assert!(observed.len() > 10, "too few checkpoints observed");
    assert!(observed.windows(2).all(|w| w[0].0 <= w[1].0), "a served checkpoint shrank");
    for (size, root) in &observed {
        let previous = checkpoints.insert(*size, *root);
        assert!(previous.is_none_or(|r| r == *root), "two roots for size {size}");
    }
    let previous = checkpoints.insert(head.size, head.root);
    assert!(previous.is_none_or(|r| r == head.root));
    let sizes: Vec<(u64, Hash)> = checkpoints.into_iter().filter(|(size, _)| *size > 0).collect();
    for pair in sizes.windows(2) {
        let ((old, old_root), (new, new_root)) = (pair[0], pair[1]);
        let proof = log.consistency_proof(old, new).unwrap();
        verify_consistency(old, new, &proof, &old_root, &new_root).unwrap();
    }
    eprintln!(
        "{} acknowledged entries over {} runs ({KILLS} SIGKILLs), {} checkpoints checked, final size {}, {:.1} s",
        acknowledged.len(),
        KILLS + 1,
        sizes.len(),
        head.size,
        started.elapsed().as_secs_f64()
    );
}
