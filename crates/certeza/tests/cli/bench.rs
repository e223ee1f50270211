//! `certeza bench http` against a real server: the load runs for the warm-up
//! first, only the measured seconds are counted, and the server's CPU time
//! per request is read from `/proc`.

use std::process::Command;

use super::log_faults::start_server;

#[test]
fn the_load_generator_warms_up_then_measures_a_real_server() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let initialised =
        Command::new(env!("CARGO_BIN_EXE_certeza")).arg("--data").arg(&data).arg("init").output().unwrap();
    assert!(initialised.status.success(), "{}", String::from_utf8_lossy(&initialised.stderr));
    let (mut server, base) = start_server(&data);
    let address = base.trim_start_matches("http://").to_owned();
    let output = Command::new(env!("CARGO_BIN_EXE_certeza"))
        .args(["bench", "http", "--target", "healthz", "--address", &address])
        .args(["--connections", "2", "--seconds", "1", "--warmup-seconds", "1"])
        .args(["--server-pid", &server.id().to_string()])
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
    // "healthz closed loop: N requests in 1.0 s = R requests/s; … non-2xx: 0"
    let summary = printed.lines().find(|line| line.starts_with("healthz closed loop: ")).expect(&printed);
    let requests: u64 = summary["healthz closed loop: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(requests > 0, "{summary}");
    let seconds: f64 = summary.split(" requests in ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((1.0..1.5).contains(&seconds), "only the measured second is counted: {summary}");
    assert!(summary.ends_with("non-2xx: 0"), "{summary}");
    // "server CPU: 12.3 µs per request, 0.91 cores (tokio-rt-worker 12.0, …)"
    let cpu = printed.lines().find(|line| line.starts_with("server CPU: ")).expect(&printed);
    let micros: f64 = cpu["server CPU: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(micros > 0.0 && micros < 10_000.0, "{cpu}");
    assert!(cpu.contains("tokio-rt-worker"), "the server's request threads are named: {cpu}");
    assert!(printed.lines().any(|line| line.starts_with("load generator CPU: ")), "{printed}");
}
