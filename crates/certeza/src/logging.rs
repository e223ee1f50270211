//! Running the transparency log's sequencer next to the HTTP service, and
//! appending the operator's own actions to the log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use certeza_core::{Clock, SystemClock};
use certeza_log::entry::LogEntry;
use certeza_log::sequencer::{IntegrationSignal, Sequencer, SequencerConfig};
use certeza_store::Store;
use certeza_store::log::{FsTileStore, LogStore};

use std::path::PathBuf;

use certeza_log::note::NoteSigner;

use crate::OpenedDataDirectory;
use crate::config::LogConfig;

/// The sequencer thread; stopping it releases the lease.
pub(crate) struct SequencerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SequencerHandle {
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
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
    let config = SequencerConfig::new(&log_config.origin, &holder_id());
    let tiles = FsTileStore::new(tile_directory);
    let mut sequencer =
        Sequencer::new(store, tiles, signer, config).context("starting the log sequencer")?.with_signal(signal);
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
    Ok(SequencerHandle { stop, thread: Some(thread) })
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
