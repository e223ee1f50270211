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

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    let mut sorted = latencies;
    sorted.sort();
    println!(
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
    Ok(())
}
