//! `certeza bench http`: a small HTTP/1.1 load generator for the verification
//! API and `/healthz`, over keep-alive connections on the same machine.
//!
//! Closed loop (`--rate 0`): every connection sends its next request as soon
//! as the previous answer arrives, which measures throughput at saturation.
//! Open loop (`--rate R`): requests are scheduled at a constant total rate and
//! latency is measured from the scheduled time, so a stalled server cannot
//! hide its queueing delay (no coordinated omission).
//! Either way the same load runs for a warm-up (`--warmup-seconds`, 1 s by
//! default) before anything is counted, and errors are counted throughout.
//!
//! With `--server-pid`, the CPU time the server's threads (and this load
//! generator) spent during the measured seconds is read from `/proc` and
//! printed per request, by thread name: a figure that moves with the work a
//! request costs, where requests per second on a shared two-core machine also
//! move with everything else the machine does.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::output::out;
use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The options of `certeza bench http`.
#[derive(Debug, clap::Args)]
pub(crate) struct HttpBench {
    /// `verifications` (POST /v1/verifications), `log-entries` (POST
    /// /v1/log/entries, synchronous: each answer waits for its checkpoint) or
    /// `healthz` (GET /healthz).
    #[arg(long, default_value = "verifications")]
    target: String,
    /// The server's address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    address: String,
    /// The relying party's API key (verifications) or the log's submit token (log-entries).
    #[arg(long, default_value = "")]
    key: String,
    /// The purpose to declare (for verifications).
    #[arg(long, default_value = "apertura-de-cuenta")]
    purpose: String,
    /// A population CSV whose people are verified in turn (for verifications).
    #[arg(long)]
    people: Option<PathBuf>,
    /// How many people to take from the CSV.
    #[arg(long, default_value_t = 100_000)]
    sample: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Total requests per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// How long to measure, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// How long to send the same load before measuring, in seconds: the
    /// figures are the server's steady state, not its first moments (new
    /// database connections, cold caches, policy loads).
    #[arg(long, default_value_t = 1)]
    warmup_seconds: u64,
    /// The server's process id: print the CPU time its threads spent per
    /// measured request (Linux `/proc`).
    #[arg(long)]
    server_pid: Option<u32>,
}

/// CPU time per thread name of one process, in clock ticks.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ThreadTimes(std::collections::BTreeMap<String, u64>);

/// The kernel's clock ticks per second for `/proc/*/stat` times (`USER_HZ`,
/// 100 on every Linux architecture this runs on).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

impl ThreadTimes {
    /// Reads the user and system time of every thread of `pid`, summed by
    /// thread name. Threads that end while they are read are skipped.
    pub(crate) fn of_process(pid: &str) -> anyhow::Result<Self> {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .with_context(|| format!("reading the threads of process {pid} in /proc"))?;
        let mut times = ThreadTimes::default();
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
            if let Some((name, ticks)) = parse_thread_stat(&stat) {
                *times.0.entry(name.to_owned()).or_default() += ticks;
            }
        }
        Ok(times)
    }

    /// The ticks spent since `earlier`, by name (threads started since count whole).
    fn since(&self, earlier: &ThreadTimes) -> ThreadTimes {
        let spent = self
            .0
            .iter()
            .map(|(name, ticks)| (name.clone(), ticks.saturating_sub(earlier.0.get(name).copied().unwrap_or(0))))
            .filter(|(_, ticks)| *ticks > 0)
            .collect();
        ThreadTimes(spent)
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `61.2 µs per request, 1.48 cores (tokio-rt-worker 40.1, verification-wr 14.0)`,
    /// the largest first.
    fn describe(&self, requests: usize, seconds: f64) -> String {
        let micros_per_request = |ticks: u64| ticks as f64 / CLOCK_TICKS_PER_SECOND * 1e6 / requests.max(1) as f64;
        let mut by_size: Vec<(&String, &u64)> = self.0.iter().collect();
        by_size.sort_by(|left, right| right.1.cmp(left.1).then(left.0.cmp(right.0)));
        let parts: Vec<String> =
            by_size.iter().map(|(name, ticks)| format!("{name} {:.1}", micros_per_request(**ticks))).collect();
        format!(
            "{:.1} µs per request, {:.2} cores ({})",
            micros_per_request(self.total()),
            self.total() as f64 / CLOCK_TICKS_PER_SECOND / seconds.max(1e-9),
            parts.join(", ")
        )
    }
}

/// The thread name and user + system ticks of one `/proc/PID/task/TID/stat`
/// line: `TID (NAME) STATE PPID … UTIME STIME …`, where NAME may hold spaces
/// and parentheses (so the fields are counted after the last `)`).
pub(crate) fn parse_thread_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let mut fields = stat.get(close + 1..)?.split_ascii_whitespace();
    // After the name: state, ppid, pgrp, session, tty_nr, tpgid, flags,
    // minflt, cminflt, majflt, cmajflt, then utime and stime.
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((name, user + system))
}

struct Shared {
    bodies: Vec<String>,
    next: AtomicU64,
    errors: AtomicU64,
}

fn load_bodies(options: &HttpBench) -> anyhow::Result<Vec<String>> {
    match options.target.as_str() {
        "healthz" => return Ok(Vec::new()),
        "log-entries" => {
            return Ok(vec!["{\"kind\":\"bench\",\"actor\":\"bench-{ID}\",\"purpose\":\"benchmark\"}".to_owned()]);
        }
        "verifications" => {}
        other => bail!("unknown target {other:?}: use verifications, log-entries or healthz"),
    }
    let Some(path) = &options.people else { bail!("--people FILE.csv is needed for the verifications target") };
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bodies = Vec::new();
    for record in reader.records().take(options.sample) {
        let record = record?;
        let (curp, cic, ocr) = (&record[0], &record[8], &record[9]);
        bodies.push(format!(
            "{{\"request_id\":\"{{ID}}\",\"purpose\":\"{}\",\"consent\":{{\"reference\":\"bench\",\
             \"obtained_at\":\"2026-01-01T00:00:00Z\",\"method\":\"bench\"}},\
             \"fields\":{{\"cic\":\"{cic}\",\"ocr\":\"{ocr}\",\"curp\":\"{curp}\"}}}}",
            options.purpose
        ));
    }
    if bodies.is_empty() {
        bail!("no people in {}", path.display());
    }
    Ok(bodies)
}

fn request_bytes(options: &HttpBench, shared: &Shared, run_id: u64) -> Vec<u8> {
    if options.target == "healthz" {
        return format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", options.address).into_bytes();
    }
    let sequence = shared.next.fetch_add(1, Ordering::Relaxed);
    let body =
        shared.bodies[(sequence as usize) % shared.bodies.len()].replace("{ID}", &format!("b{run_id}-{sequence}"));
    let path = if options.target == "log-entries" { "/v1/log/entries" } else { "/v1/verifications" };
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        options.address,
        options.key,
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response with a Content-Length; returns its status.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<u16> {
    loop {
        if let Some(header_end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..header_end]).context("a response head is not UTF-8")?;
            let status: u16 = head.get(9..12).and_then(|code| code.parse().ok()).context("no status code")?;
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = header_end + 4 + length;
            while buffer.len() < total {
                let mut chunk = [0u8; 16384];
                let read = stream.read(&mut chunk).await?;
                if read == 0 {
                    bail!("the server closed the connection");
                }
                buffer.extend_from_slice(&chunk[..read]);
            }
            buffer.drain(..total);
            return Ok(status);
        }
        let mut chunk = [0u8; 16384];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let position = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[position.min(sorted.len() - 1)]
}

pub(crate) fn run(options: HttpBench) -> anyhow::Result<()> {
    let bodies = load_bodies(&options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut run_id_bytes = [0u8; 8];
    certeza_crypto::os_random(&mut run_id_bytes)?;
    let run_id = u64::from_le_bytes(run_id_bytes) % 1_000_000_000;
    let shared = Arc::new(Shared { bodies, next: AtomicU64::new(0), errors: AtomicU64::new(0) });
    let options = Arc::new(options);
    // Every connection is open before the clock starts: connection set-up
    // (a SYN dropped by a full accept queue costs a 1 s retransmission) is not
    // request latency.
    // They are opened in waves of CONNECT_WAVE, well under a listener's
    // accept queue (tokio's is 1,024), so that the server accepts each wave
    // before the next arrives; thousands of connections at once overflow it.
    const CONNECT_WAVE: usize = 256;
    let streams = runtime.block_on(async {
        let mut streams = Vec::with_capacity(options.connections);
        while streams.len() < options.connections {
            let wave = CONNECT_WAVE.min(options.connections - streams.len());
            let mut connecting = Vec::with_capacity(wave);
            for _ in 0..wave {
                let address = options.address.clone();
                connecting.push(tokio::spawn(async move {
                    let stream = TcpStream::connect(&address).await?;
                    stream.set_nodelay(true)?;
                    Ok::<_, anyhow::Error>(stream)
                }));
            }
            for connection in connecting {
                streams.push(connection.await??);
            }
        }
        Ok::<_, anyhow::Error>(streams)
    })?;
    let started = Instant::now();
    let measured_after = started + Duration::from_secs(options.warmup_seconds);
    let deadline = measured_after + Duration::from_secs(options.seconds);
    // CPU times at the start of the measured seconds: the server's and ours.
    let cpu_at_start = runtime.spawn({
        let server = options.server_pid;
        async move {
            tokio::time::sleep_until(measured_after.into()).await;
            server.map(|pid| (ThreadTimes::of_process(&pid.to_string()), ThreadTimes::of_process("self")))
        }
    });
    let latencies = runtime.block_on(async {
        let mut tasks = Vec::new();
        for (connection, mut stream) in streams.into_iter().enumerate() {
            let (options, shared) = (options.clone(), shared.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut buffer = Vec::with_capacity(8192);
                // In the open loop, connection k sends requests k, k+C, k+2C, … of the schedule.
                let interval = (options.rate > 0)
                    .then(|| Duration::from_secs_f64(options.connections as f64 / options.rate as f64));
                let mut scheduled = started
                    + interval.map_or(Duration::ZERO, |interval| {
                        interval.mul_f64(connection as f64 / options.connections as f64)
                    });
                loop {
                    if let Some(interval) = interval {
                        tokio::time::sleep_until(scheduled.into()).await;
                        if scheduled >= deadline {
                            break;
                        }
                        scheduled += interval;
                    } else if Instant::now() >= deadline {
                        break;
                    }
                    let measured_from =
                        if interval.is_some() { scheduled - interval.unwrap_or_default() } else { Instant::now() };
                    stream.write_all(&request_bytes(&options, &shared, run_id)).await?;
                    let status = read_response(&mut stream, &mut buffer).await?;
                    if !(200..300).contains(&status) {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    if measured_from >= measured_after {
                        latencies.push(measured_from.elapsed());
                    }
                }
                Ok::<_, anyhow::Error>(latencies)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let elapsed = measured_after.elapsed().as_secs_f64();
    let cpu_spent = match (options.server_pid, runtime.block_on(cpu_at_start)?) {
        (Some(pid), Some((server_before, ours_before))) => {
            let server = ThreadTimes::of_process(&pid.to_string())?.since(&server_before?);
            let ours = ThreadTimes::of_process("self")?.since(&ours_before?);
            Some((server, ours))
        }
        _ => None,
    };
    let mut sorted = latencies;
    sorted.sort();
    out!(
        "{} {}: {} requests in {:.1} s = {:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; non-2xx: {}",
        options.target,
        if options.rate > 0 { format!("at a constant {}/s", options.rate) } else { "closed loop".to_owned() },
        sorted.len(),
        elapsed,
        sorted.len() as f64 / elapsed,
        percentile(&sorted, 0.50).as_secs_f64() * 1e3,
        percentile(&sorted, 0.99).as_secs_f64() * 1e3,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        shared.errors.load(Ordering::Relaxed),
    );
    if let Some((server, ours)) = cpu_spent {
        out!("server CPU: {}", server.describe(sorted.len(), elapsed));
        out!("load generator CPU: {}", ours.describe(sorted.len(), elapsed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_thread_stat_line_gives_its_name_and_user_plus_system_ticks() {
        let line = "4242 (tokio-rt-worker) S 1 4242 4242 0 -1 4194560 900 0 3 0 1234 567 0 0 20 0 8 0 100 0 0\n";
        assert_eq!(parse_thread_stat(line), Some(("tokio-rt-worker", 1801)));
        // A name with spaces and parentheses is read up to the last ')'.
        let odd = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 0 0";
        assert_eq!(parse_thread_stat(odd), Some(("a (b) c", 15)));
        assert_eq!(parse_thread_stat("7 (short) R 1 2"), None);
        assert_eq!(parse_thread_stat("no parentheses at all"), None);
        assert_eq!(parse_thread_stat("7 (x) R 1 7 7 0 -1 0 0 0 0 0 ten 5"), None);
    }

    #[test]
    fn times_since_an_earlier_reading_count_only_what_was_spent_meanwhile() {
        let earlier = ThreadTimes([("writer".to_owned(), 100), ("worker".to_owned(), 50)].into_iter().collect());
        let later = ThreadTimes(
            [("writer".to_owned(), 130), ("worker".to_owned(), 50), ("new".to_owned(), 20)].into_iter().collect(),
        );
        let spent = later.since(&earlier);
        assert_eq!(spent, ThreadTimes([("writer".to_owned(), 30), ("new".to_owned(), 20)].into_iter().collect()));
        // 50 ticks = 0.5 s of CPU over 1,000 requests in 1 s: 500 µs each, half a core.
        assert_eq!(spent.describe(1000, 1.0), "500.0 µs per request, 0.50 cores (writer 300.0, new 200.0)");
    }
}
