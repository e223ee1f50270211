//! End-to-end tests of the real `certeza` binary.
#![allow(clippy::unwrap_used)]

// The other end-to-end stories of the binary live in modules of this one test
// binary, to keep link time down.
#[path = "cli/bench.rs"]
mod bench;
#[path = "cli/credential.rs"]
mod credential;
#[path = "cli/log_faults.rs"]
mod log_faults;
#[path = "cli/log_witness.rs"]
mod log_witness;
#[path = "cli/rp_mtls.rs"]
mod rp_mtls;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn certeza(data: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_certeza"))
        .arg("--data")
        .arg(data)
        .args(arguments)
        .env_remove("CERTEZA_DATABASE__URL")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_accepts_the_public_vectors_and_names_the_check_digit() {
    let directory = tempfile::tempdir().unwrap();
    for (kind, value) in
        [("curp", "BOXW310820HNERXN09"), ("curp", "SABC560626MDFLRN01"), ("clabe", "002010077777777771")]
    {
        let output = certeza(directory.path(), &["validate", kind, value]);
        assert!(output.status.success(), "{kind} {value}: {}", text(&output.stderr));
    }
    let output = certeza(directory.path(), &["validate", "curp", "BOXW310820HNERXN08"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("check digit"), "{}", text(&output.stderr));
    let output = certeza(directory.path(), &["validate", "clabe", "002010077777777772"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn a_reader_that_closes_the_output_early_gets_no_panic() {
    // The read end is closed before the command writes, as `certeza … | head -n 0` would.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .args(["validate", "curp", "BOXW310820HNERXN09"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(141), "{}", text(&output.stderr));
    assert!(output.stderr.is_empty(), "{}", text(&output.stderr));
}

#[test]
fn population_generation_is_deterministic_for_a_seed() {
    let directory = tempfile::tempdir().unwrap();
    let first = directory.path().join("a.csv");
    let second = directory.path().join("b.csv");
    for path in [&first, &second] {
        let output = certeza(
            directory.path(),
            &["population", "generate", "--count", "500", "--seed", "7", "--out", path.to_str().unwrap()],
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let first = std::fs::read_to_string(first).unwrap();
    assert_eq!(first, std::fs::read_to_string(second).unwrap());
    assert_eq!(first.lines().count(), 501);
    assert!(first.starts_with("curp,given_names,first_surname,second_surname,birth_date,sex,birth_state,"));
}

/// Writes 30 good people and a set of bad rows; returns the bad lines and what
/// their reasons must mention.
fn write_mixed_csv(directory: &Path) -> (std::path::PathBuf, Vec<(u64, &'static str)>) {
    let good = directory.join("good.csv");
    let output = certeza(
        directory,
        &["population", "generate", "--count", "30", "--seed", "11", "--out", good.to_str().unwrap()],
    );
    assert!(output.status.success());
    let content = std::fs::read(&good).unwrap();
    let lines: Vec<&[u8]> = content.split(|byte| *byte == b'\n').filter(|line| !line.is_empty()).collect();
    let mut mixed: Vec<u8> = Vec::new();
    let mut expected_rejects = Vec::new();
    for (position, line) in lines.iter().enumerate() {
        mixed.extend_from_slice(line);
        mixed.push(b'\n');
        if position == 5 {
            mixed.extend_from_slice(b"only,three,columns\n");
            expected_rejects.push((7, "column"));
            let broken_curp =
                String::from_utf8(lines[6].to_vec()).unwrap().replacen(|c: char| c.is_ascii_digit(), "Z", 1);
            mixed.extend_from_slice(broken_curp.as_bytes());
            mixed.push(b'\n');
            expected_rejects.push((8, "curp"));
            let mut non_utf8 = lines[7].to_vec();
            let comma = non_utf8.iter().position(|byte| *byte == b',').unwrap();
            non_utf8.insert(comma + 1, 0xff);
            mixed.extend_from_slice(&non_utf8);
            mixed.push(b'\n');
            expected_rejects.push((9, "UTF-8"));
            mixed.extend_from_slice(lines[2]);
            mixed.push(b'\n');
            expected_rejects.push((10, "duplicate"));
        }
    }
    let path = directory.join("mixed.csv");
    std::fs::write(&path, mixed).unwrap();
    (path, expected_rejects)
}

fn import_and_check(directory: &Path, data: &Path) {
    let (mixed, expected_rejects) = write_mixed_csv(directory);
    let output = certeza(data, &["registry", "import", mixed.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("30 new or changed"), "{stderr}");
    assert!(stderr.contains("4 rejected"), "{stderr}");

    let rejects = std::fs::read_to_string(directory.join("mixed.rejects.csv")).unwrap();
    let rows: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(rows.len(), expected_rejects.len(), "{rejects}");
    for (row, (line, mention)) in rows.iter().zip(expected_rejects) {
        assert!(row.starts_with(&format!("{line},")), "{row}");
        assert!(row.to_lowercase().contains(&mention.to_lowercase()), "{row} should mention {mention}");
    }

    let output = certeza(data, &["registry", "count"]);
    assert_eq!(text(&output.stdout).trim(), "30");

    // Re-importing the same file changes nothing.
    let output = certeza(data, &["registry", "import", mixed.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("0 new or changed, 30 unchanged"), "{stderr}");

    // The operator can read one person and change their status.
    let first_line = std::fs::read_to_string(directory.join("good.csv")).unwrap().lines().nth(1).unwrap().to_owned();
    let curp = first_line.split(',').next().unwrap();
    let output = certeza(data, &["registry", "show", curp]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(curp));
    let output = certeza(data, &["registry", "status", curp, "--set", "reported_stolen"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&certeza(data, &["registry", "show", curp]).stdout).contains("reported_stolen"));
    let output = certeza(data, &["registry", "status", curp, "--set", "melted"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("unknown status"));
    let output = certeza(data, &["registry", "show", "BOXW310820HNERXN09"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no person"));
}

#[test]
fn import_keeps_good_rows_and_lists_every_bad_one_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let output = certeza(&data, &["init"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    import_and_check(directory.path(), &data);
}

#[test]
fn import_works_the_same_on_postgres() {
    let Ok(admin_url) = std::env::var("CERTEZA_TEST_POSTGRES_URL") else {
        eprintln!("PostgreSQL skipped: CERTEZA_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = format!("certeza_cli_{}", std::process::id());
    let mut admin = postgres_admin(&admin_url);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {database}")).unwrap();
    let url = format!("{}/{database}", admin_url.rsplit_once('/').unwrap().0);

    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("certeza.toml"), format!("[database]\nurl = \"{url}\"\n")).unwrap();
    let output = certeza(&data, &["init"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("PostgreSQL"));
    import_and_check(directory.path(), &data);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).unwrap();
}

fn postgres_admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

#[test]
fn bad_configuration_and_input_are_clear_errors() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let output = certeza(&data, &["registry", "count"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("certeza init"));

    assert!(certeza(&data, &["init"]).status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .arg("--data")
        .arg(&data)
        .args(["registry", "count"])
        .env("CERTEZA_DATABASE__URL", "mysql://localhost/x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("unsupported database URL scheme"), "{}", text(&output.stderr));

    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .arg("--data")
        .arg(&data)
        .args(["registry", "count"])
        .env("CERTEZA_DATABASE__URL", "postgres://certeza:pw@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot connect") && !stderr.contains("pw@"), "{stderr}");

    let not_csv = directory.path().join("not.csv");
    std::fs::write(&not_csv, "name,age\nx,1\n").unwrap();
    let output = certeza(&data, &["registry", "import", not_csv.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("header"));
}

#[test]
fn demo_serves_its_landing_page_and_writes_demo_json() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .arg("--data")
        .arg(&data)
        .args(["demo", "--listen", "127.0.0.1:0", "--people", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let demo_json = data.join("demo.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !demo_json.exists() {
        assert!(Instant::now() < deadline, "the demo did not write demo.json in time");
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("the demo exited early with {status}: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    let description: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&demo_json).unwrap()).unwrap();
    let base_url = description["base_url"].as_str().unwrap().to_owned();
    assert!(description["sample_people"].as_array().unwrap().len() >= 3);

    let health = ureq::get(&format!("{base_url}/healthz")).call().unwrap().into_body().read_to_string().unwrap();
    assert_eq!(health.trim(), "ok");
    let landing = ureq::get(&format!("{base_url}/")).call().unwrap().into_body().read_to_string().unwrap();
    assert!(landing.contains("300 personas"), "{landing}");
    assert!(landing.contains("lang=\"es-MX\""));

    // The demo's own setup is in its transparency log, and an outside audit passes.
    let vkey = description["log"]["vkey"].as_str().unwrap().to_owned();
    let log_url = description["log"]["url"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let checkpoint =
            ureq::get(&format!("{log_url}/checkpoint")).call().unwrap().into_body().read_to_string().unwrap();
        let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
        if size >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the demo's setup never reached the log");
        std::thread::sleep(Duration::from_millis(100));
    }
    let state = directory.path().join("audit.state");
    let audit = |state: &Path| {
        Command::new(env!("CARGO_BIN_EXE_certeza"))
            .args(["log", "audit", &log_url, "--vkey", &vkey, "--state"])
            .arg(state)
            .output()
            .unwrap()
    };
    let output = audit(&state);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("root recomputed"), "{}", text(&output.stdout));
    let output = audit(&state);
    assert!(text(&output.stdout).contains("consistent with the checkpoint of size"), "{}", text(&output.stdout));

    // A receipt fetched from the demo verifies offline.
    let receipt =
        ureq::get(&format!("{base_url}/v1/log/proof/0")).call().unwrap().into_body().read_to_string().unwrap();
    let receipt_path = directory.path().join("receipt.txt");
    std::fs::write(&receipt_path, &receipt).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .args(["log", "verify-receipt"])
        .arg(&receipt_path)
        .args(["--vkey", &vkey])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::write(&receipt_path, receipt.replacen("index 0", "index 1", 1)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .args(["log", "verify-receipt"])
        .arg(&receipt_path)
        .args(["--vkey", &vkey])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));

    // One flipped byte in a stored tile: the audit fails and names the tile.
    let tile_directory = data.join("log").join("tile").join("0");
    let tile_file = std::fs::read_dir(tile_directory.join("000.p")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&tile_file).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&tile_file, bytes).unwrap();
    let output = audit(&directory.path().join("fresh.state"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("tile/0/000.p/"), "{stderr}");
    // The demo's curl command verifies its sample person, and the answer's
    // receipt checks offline against the receipt key, as a bank would.
    let curl = description["relying_party"]["curl"].as_str().unwrap();
    let answer = Command::new("sh").args(["-c", curl]).output().unwrap();
    assert!(answer.status.success(), "{}", text(&answer.stderr));
    let answer_text = text(&answer.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&answer_text).unwrap();
    assert_eq!(parsed["outcome"], "valid", "{answer_text}");
    let answer_path = directory.path().join("answer.json");
    std::fs::write(&answer_path, &answer_text).unwrap();
    let key_path = directory.path().join("receipt-key.jwk");
    let key = ureq::get(&format!("{base_url}/v1/verifications/key")).call().unwrap().into_body().read_to_string();
    std::fs::write(&key_path, key.unwrap()).unwrap();
    let verify_receipt = |answer: &Path| {
        Command::new(env!("CARGO_BIN_EXE_certeza"))
            .args(["rp", "verify-receipt"])
            .arg(answer)
            .arg("--key")
            .arg(&key_path)
            .output()
            .unwrap()
    };
    let output = verify_receipt(&answer_path);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("receipt valid") && stdout.contains(parsed["verification_id"].as_str().unwrap()),
        "{stdout}"
    );
    // The demo's own receipt-check command works as printed (certeza on the PATH).
    let check = description["relying_party"]["receipt_check"].as_str().unwrap();
    let binary_directory = Path::new(env!("CARGO_BIN_EXE_certeza")).parent().unwrap().to_owned();
    let path = format!("{}:{}", binary_directory.display(), std::env::var("PATH").unwrap_or_default());
    let checked =
        Command::new("sh").args(["-c", check]).current_dir(directory.path()).env("PATH", path).output().unwrap();
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    assert!(text(&checked.stdout).contains("receipt valid"), "{}", text(&checked.stdout));
    // The same receipt placed elsewhere in its batch does not verify.
    let mut moved = parsed.clone();
    moved["receipt"]["batch"]["size"] = (moved["receipt"]["batch"]["size"].as_u64().unwrap() + 1).into();
    std::fs::write(&answer_path, moved.to_string()).unwrap();
    let output = verify_receipt(&answer_path);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("does not verify"), "{}", text(&output.stderr));

    child.kill().unwrap();
    child.wait().unwrap();
    // Its log, written to a pipe rather than a terminal, is plain text.
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "no terminal colour codes in a log that is not a terminal: {log:?}");

    // A second start reuses the directory instead of importing again.
    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .arg("--data")
        .arg(&data)
        .args(["registry", "count"])
        .output()
        .unwrap();
    assert_eq!(text(&output.stdout).trim(), "300");
}

/// A child process killed when dropped, with its stdout lines on a channel.
pub(crate) struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    pub(crate) fn start(command: &mut Command) -> Running {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// Waits for a stdout line starting with `prefix` and returns the rest.
    pub(crate) fn line_after(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap();
            if let Some(position) = line.find(prefix) {
                return line[position + prefix.len()..].to_owned();
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
