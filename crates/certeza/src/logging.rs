//! Running the transparency log's sequencer next to the HTTP service, and
//! appending the operator's own actions to the log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use certeza_core::{Clock, SystemClock};
use certeza_log::cosignature::CosignatureVerifier;
use certeza_log::entry::LogEntry;
use certeza_log::sequencer::{IntegrationSignal, Sequencer, SequencerConfig, SignedCheckpoint, StepOutcome, TileStore};
use certeza_log::witness::AddCheckpointRequest;
use certeza_store::Store;
use certeza_store::log::{FsTileStore, LogStore};

use std::path::PathBuf;

use certeza_log::note::NoteSigner;

use crate::OpenedDataDirectory;
use crate::config::LogConfig;
use crate::output::out;

/// The sequencer thread (and the witness client's, when witnesses are
/// configured); stopping it releases the lease.
pub(crate) struct SequencerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    witness_client: Option<JoinHandle<()>>,
    signal: Arc<IntegrationSignal>,
}

impl SequencerHandle {
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.signal.notify();
        for thread in [self.thread.take(), self.witness_client.take()].into_iter().flatten() {
            let _ = thread.join();
        }
    }
}

/// A lease holder id unique to this process.
fn holder_id() -> String {
    let mut random = [0u8; 4];
    let _ = certeza_crypto::os_random(&mut random);
    format!("pid{}-{}", std::process::id(), certeza_crypto::to_hex(&random))
}

/// Starts the sequencer on its own thread. Several instances may run against
/// one database: the lease makes one of them the writer at a time.
pub(crate) fn start_sequencer(
    log_config: &LogConfig,
    tile_directory: PathBuf,
    signer: NoteSigner,
    store: Arc<Store>,
    signal: Arc<IntegrationSignal>,
) -> anyhow::Result<SequencerHandle> {
    let config = SequencerConfig {
        lease_ttl_millis: log_config.lease_ttl_ms.max(1),
        ..SequencerConfig::new(&log_config.origin, &holder_id())
    };
    let tiles = FsTileStore::new(tile_directory);
    let witnesses = log_config
        .witnesses
        .iter()
        .map(WitnessTarget::new)
        .collect::<anyhow::Result<Vec<_>>>()
        .context("in log.witnesses")?;
    let witness_store = store.clone();
    let mut sequencer =
        Sequencer::new(store, tiles, signer, config).context("starting the log sequencer")?.with_signal(signal.clone());
    let interval = Duration::from_millis(log_config.batch_interval_ms.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let stop_for_thread = stop.clone();
    let thread = std::thread::Builder::new()
        .name("log-sequencer".to_owned())
        .spawn(move || {
            // A failed step (e.g. the database is briefly unreachable) is
            // logged and retried; nothing acknowledged is lost meanwhile.
            while !stop_for_thread.load(Ordering::SeqCst) {
                if let Err(error) = sequencer.run(&|| SystemClock.now_unix_millis(), interval, &stop_for_thread) {
                    tracing::error!(%error, "the log sequencer failed; retrying");
                    std::thread::sleep(interval.max(Duration::from_millis(500)));
                }
            }
        })
        .context("starting the sequencer thread")?;
    let witness_client = if witnesses.is_empty() {
        None
    } else {
        let stop = stop.clone();
        let signal = signal.clone();
        Some(
            std::thread::Builder::new()
                .name("log-witnesses".to_owned())
                .spawn(move || run_witness_client(&witness_store, witnesses, &signal, &stop))
                .context("starting the witness client thread")?,
        )
    };
    Ok(SequencerHandle { stop, thread: Some(thread), witness_client, signal })
}

/// Queues an operator action in the log (durable now, integrated by the
/// sequencer of the next `serve`/`demo`, or a running one). Returns the
/// pending id.
pub(crate) fn log_operator_action(
    context: &OpenedDataDirectory,
    kind: &str,
    purpose: &str,
    details: &[u8],
) -> anyhow::Result<u64> {
    let now = SystemClock.now_unix_millis();
    let entry = LogEntry {
        v: 1,
        kind: kind.to_owned(),
        time_unix_millis: now,
        actor: "operator".to_owned(),
        purpose: purpose.to_owned(),
        subject_commitment: None,
        details_hash: Some(certeza_crypto::sha256(details)),
    };
    let bytes = entry.encode().context("encoding a log entry")?;
    let queued = LogStore::new(&context.store)
        .enqueue(&bytes, now, context.config.log.max_merge_delay_ms)
        .context("queueing a log entry")?;
    Ok(queued.pending_id)
}

/// One configured witness and what the log believes the witness holds.
struct WitnessTarget {
    url: String,
    vkey: String,
    verifier: CosignatureVerifier,
    /// The tree size the witness last cosigned for this log, as far as this
    /// process knows (`None` until the first answer).
    known_size: Option<u64>,
    /// The largest checkpoint size this process has a cosignature for.
    cosigned_size: u64,
}

impl WitnessTarget {
    fn new(config: &crate::config::WitnessConfig) -> anyhow::Result<Self> {
        let verifier = CosignatureVerifier::parse(&config.vkey)
            .with_context(|| format!("the vkey of witness {} is not a cosignature verifier key", config.url))?;
        Ok(Self {
            url: format!("{}/add-checkpoint", config.url.trim_end_matches('/')),
            vkey: config.vkey.clone(),
            verifier,
            known_size: None,
            cosigned_size: 0,
        })
    }
}

/// After each new checkpoint, asks every witness to cosign it (with the
/// consistency proof from the size the witness last cosigned) and stores the
/// cosignatures it returns, which `GET /log/checkpoint` appends to the note.
/// A failed witness is retried at the next checkpoint or after a second.
fn run_witness_client(store: &Store, mut witnesses: Vec<WitnessTarget>, signal: &IntegrationSignal, stop: &AtomicBool) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let log = LogStore::new(store);
    while !stop.load(Ordering::SeqCst) {
        let generation = signal.generation();
        match log.latest_checkpoint() {
            Ok(Some(head)) => {
                for witness in witnesses.iter_mut().filter(|w| w.cosigned_size < head.size) {
                    if let Err(error) = cosign_with(&agent, &log, witness, &head) {
                        tracing::warn!(witness = %witness.url, error = %format!("{error:#}"), "no cosignature");
                    }
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "the witness client could not read the latest checkpoint"),
        }
        signal.wait(generation, Duration::from_secs(1));
    }
}

/// Sends one add-checkpoint request (retrying after a 409 with the size the
/// witness returned) and stores the verified cosignature.
fn cosign_with(
    agent: &ureq::Agent,
    log: &LogStore<'_>,
    witness: &mut WitnessTarget,
    head: &SignedCheckpoint,
) -> anyhow::Result<()> {
    let text = certeza_log::note::parse_note(head.note.as_bytes())?.text;
    for _ in 0..3 {
        let old_size = witness.known_size.unwrap_or(0);
        if old_size > head.size {
            bail!("the witness holds a checkpoint of size {old_size}, beyond this log's {}", head.size);
        }
        let proof = if old_size == 0 || old_size == head.size {
            Vec::new()
        } else {
            log.consistency_proof(old_size, head.size)?
        };
        let body = AddCheckpointRequest { old_size, proof, checkpoint: head.note.clone() }.encode()?;
        let response = agent.post(&witness.url).send(body.as_bytes()).context("sending add-checkpoint")?;
        let status = response.status().as_u16();
        let answer = response.into_body().with_config().limit(64 * 1024).read_to_string()?;
        match status {
            200 => {
                let line = answer
                    .lines()
                    .find(|line| witness.verifier.verify_line(&text, line).is_ok())
                    .context("the witness answered without a valid cosignature")?;
                log.add_cosignature(head.size, &witness.vkey, &format!("{line}\n"), SystemClock.now_unix_millis())?;
                witness.known_size = Some(head.size);
                witness.cosigned_size = head.size;
                return Ok(());
            }
            409 => {
                let size = answer.trim_end().parse::<u64>().context("a 409 without a tree size")?;
                witness.known_size = Some(size);
            }
            other => bail!("HTTP {other}: {}", answer.trim_end()),
        }
    }
    bail!("the witness kept answering 409")
}

/// A tile store that keeps nothing, to time integration without publishing.
struct DiscardTiles;

impl TileStore for DiscardTiles {
    fn put(&self, _path: &str, _data: &[u8]) -> Result<(), certeza_log::Error> {
        Ok(())
    }
    fn get(&self, _path: &str) -> Result<Option<Vec<u8>>, certeza_log::Error> {
        Ok(None)
    }
}

fn bench_entry(i: u64) -> anyhow::Result<Vec<u8>> {
    let entry = LogEntry {
        v: 1,
        kind: "verification".to_owned(),
        time_unix_millis: 1_780_000_000_000 + i,
        actor: "rp:banco-ejemplo".to_owned(),
        purpose: "account-opening".to_owned(),
        subject_commitment: Some(certeza_crypto::sha256(&i.to_be_bytes())),
        details_hash: Some(certeza_crypto::sha256(&(!i).to_be_bytes())),
    };
    Ok(entry.encode()?)
}

/// `certeza log bench-engine`: queues `entries` entries in a temporary
/// SQLite database (and the given PostgreSQL one), then times the sequencer's
/// integrate path (hashing, consistency check, signing, one transaction per
/// batch) without publishing, then the publishing of every tile and bundle.
pub(crate) fn bench_engine(entries: u64, batch: usize, postgres: Option<&str>) -> anyhow::Result<()> {
    let mut random = [0u8; 4];
    certeza_crypto::os_random(&mut random)?;
    let directory =
        std::env::temp_dir().join(format!("certeza-bench-{}-{}", std::process::id(), certeza_crypto::to_hex(&random)));
    std::fs::create_dir_all(&directory)?;
    let result = (|| {
        let store = Store::open(&format!("sqlite://{}", directory.join("bench.db").display()))?;
        engine_run("sqlite", &store, entries, batch, &directory.join("tiles-sqlite"))?;
        if let Some(url) = postgres {
            let store = Store::open(url)?;
            engine_run("postgres", &store, entries, batch, &directory.join("tiles-postgres"))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&directory);
    result
}

fn engine_run(backend: &str, store: &Store, entries: u64, batch: usize, tiles: &std::path::Path) -> anyhow::Result<()> {
    let log = LogStore::new(store);
    if log.latest_checkpoint()?.is_some() || log.pending_count()? > 0 {
        bail!("the {backend} database already holds a log; give the benchmark an empty one");
    }
    let now = SystemClock.now_unix_millis();
    let started = Instant::now();
    let mut next = 0u64;
    while next < entries {
        let end = (next + 10_000).min(entries);
        log.with_transaction(|tx| {
            for i in next..end {
                let entry = bench_entry(i)
                    .map_err(|e| certeza_store::StoreError::Log(certeza_log::Error::MalformedEntry(e.to_string())))?;
                tx.enqueue_log_entry(&entry, now, 60_000)?;
            }
            Ok(())
        })?;
        next = end;
    }
    let queued = started.elapsed();
    let signer = NoteSigner::from_seed("bench.certeza.example/log", [9; 32])?;
    let config = SequencerConfig {
        max_batch: batch,
        lease_ttl_millis: 3_600_000,
        ..SequencerConfig::new("bench.certeza.example/log", "bench")
    };
    let mut sequencer = Sequencer::new(store, DiscardTiles, signer, config)?;
    let started = Instant::now();
    let mut batches = 0u64;
    loop {
        match sequencer.step(SystemClock.now_unix_millis())? {
            StepOutcome::Integrated { .. } => batches += 1,
            StepOutcome::Idle { .. } => break,
            other => bail!("unexpected sequencer outcome {other:?}"),
        }
    }
    let integrated = started.elapsed();
    sequencer.release()?;
    let signer = NoteSigner::from_seed("bench.certeza.example/log", [9; 32])?;
    let config =
        SequencerConfig { lease_ttl_millis: 3_600_000, ..SequencerConfig::new("bench.certeza.example/log", "bench") };
    let mut publisher = Sequencer::new(store, FsTileStore::new(tiles), signer, config)?;
    let started = Instant::now();
    publisher.step(SystemClock.now_unix_millis())?;
    let published = started.elapsed();
    publisher.release()?;
    let rate = |d: Duration| entries as f64 / d.as_secs_f64().max(1e-9);
    out!(
        "{backend}: {entries} entries; queue {:.0} entries/s ({:.2} s); integrate {:.0} entries/s ({:.2} s, {batches} batches of up to {batch}, one transaction and one signed checkpoint each); publish tiles and bundles {:.0} entries/s ({:.2} s)",
        rate(queued),
        queued.as_secs_f64(),
        rate(integrated),
        integrated.as_secs_f64(),
        rate(published),
        published.as_secs_f64(),
    );
    Ok(())
}

/// `certeza log bench-http`: `clients` threads submit entries synchronously
/// (`POST /v1/log/entries`, each waiting for its receipt) for `seconds`
/// seconds; prints acknowledged entries/s and the latency percentiles.
pub(crate) fn bench_http(url: &str, token: &str, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let endpoint = format!("{}/v1/log/entries", url.trim_end_matches('/'));
    let authorization = format!("Bearer {token}");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads = (0..clients)
        .map(|client| {
            let endpoint = endpoint.clone();
            let authorization = authorization.clone();
            std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(30)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    i += 1;
                    let details = certeza_crypto::to_hex(&certeza_crypto::sha256(format!("{client}/{i}").as_bytes()));
                    let body = format!(
                        r#"{{"kind":"bench","actor":"bench-client","purpose":"benchmark","details_hash":"{details}"}}"#
                    );
                    let sent = Instant::now();
                    let response = agent
                        .post(&endpoint)
                        .header("Authorization", &authorization)
                        .content_type("application/json")
                        .send(body.as_bytes());
                    match response {
                        Ok(mut response) if response.status().as_u16() == 201 => {
                            let _ = response.body_mut().read_to_vec();
                            latencies.push(sent.elapsed());
                        }
                        Ok(mut response) => {
                            let _ = response.body_mut().read_to_vec();
                            failures += 1;
                        }
                        Err(_) => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut latencies = Vec::new();
    let mut failures = 0;
    for thread in threads {
        let (mut l, f) = thread.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
        latencies.append(&mut l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    out!(
        "{} acknowledged entries in {:.1} s: {:.0} entries/s with {clients} clients; ack latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {failures} failed",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
    );
    Ok(())
}
