//! The transparency log over HTTP: the C2SP tlog-tiles read API under `/log/`,
//! receipts, and synchronous submission for internal services.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certeza_core::Clock;
use certeza_log::entry::LogEntry;
use certeza_log::note::NoteSigner;
use certeza_log::proof::Receipt;
use certeza_log::sequencer::{IntegrationSignal, TileStore};
use certeza_log::tile::Tile;
use certeza_store::log::{FsTileStore, LogStore};
use serde::Deserialize;

use crate::{AppError, AppState};

/// How often a submitter whose receipt is promised by this process's
/// sequencer still looks in the database (the sequencer may be another
/// instance's).
const RECEIPT_STORAGE_CHECK: Duration = Duration::from_millis(500);

/// How often a submitter without such a promise looks in the database.
const RECEIPT_POLL: Duration = Duration::from_millis(20);

/// Waits for the receipt of a queued entry: handed over by this process's
/// sequencer right after it publishes the batch (no thread and no database
/// read per waiting submitter), or read from the database when another
/// instance's sequencer integrated it (checked every
/// [`RECEIPT_STORAGE_CHECK`]).
async fn wait_for_receipt(
    state: &AppState,
    pending_id: u64,
    mut receiver: tokio::sync::oneshot::Receiver<Receipt>,
) -> Result<Receipt, AppError> {
    // Withdrawn however this ends (an answer, an error, a client that left).
    let _withdraw = WithdrawReceipt { signal: &state.log.signal, pending_id };
    let deadline = tokio::time::Instant::now() + state.log.submit_timeout;
    let mut check_storage_at = tokio::time::Instant::now() + RECEIPT_STORAGE_CHECK;
    let mut promised = true;
    loop {
        let until = deadline.min(check_storage_at);
        if promised {
            match tokio::time::timeout_at(until, &mut receiver).await {
                Ok(Ok(receipt)) => return Ok(receipt),
                // The sequencer could not compute it: read it from storage.
                Ok(Err(_)) => {
                    promised = false;
                    check_storage_at = tokio::time::Instant::now();
                }
                Err(_) => {}
            }
        } else {
            tokio::time::sleep_until(until).await;
        }
        if tokio::time::Instant::now() >= check_storage_at {
            let store = state.store.clone();
            let stored = tokio::task::spawn_blocking(move || LogStore::new(&store).receipt_for_pending(pending_id))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?;
            if let Some(receipt) = stored {
                return Ok(receipt);
            }
            let wait = if promised { RECEIPT_STORAGE_CHECK } else { RECEIPT_POLL };
            check_storage_at = tokio::time::Instant::now() + wait;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AppError::Unavailable(format!(
                "the entry is queued (pending id {pending_id}) but no checkpoint covered it in time"
            )));
        }
    }
}

/// Withdraws a receipt request when dropped.
struct WithdrawReceipt<'a> {
    signal: &'a IntegrationSignal,
    pending_id: u64,
}

impl Drop for WithdrawReceipt<'_> {
    fn drop(&mut self) {
        self.signal.forget_receipt(self.pending_id);
    }
}

/// What the HTTP layer needs to serve and feed the log.
pub struct LogContext {
    /// The log's origin line.
    pub origin: String,
    /// The log's verifier key (`name+hash+base64`).
    pub verifier_key: String,
    /// The log's note signer (for signed promises).
    pub signer: NoteSigner,
    /// Where the sequencer publishes tiles and the checkpoint.
    pub tiles: FsTileStore,
    /// Woken after every committed batch.
    pub signal: Arc<IntegrationSignal>,
    /// SHA-256 of the bearer token allowed to submit entries synchronously;
    /// `None` disables `POST /v1/log/entries`.
    pub submit_token_sha256: Option<[u8; 32]>,
    /// How long a synchronous submitter waits for its checkpoint.
    pub submit_timeout: Duration,
    /// Queues synchronous submissions (group commit).
    pub submitter: LogSubmitter,
}

/// Queues synchronously submitted entries: one thread takes every
/// submission waiting and queues them all in one transaction (one sync for
/// the lot), answering each through its own channel, so that no submitter
/// holds a thread while it waits.
#[derive(Default)]
pub struct LogSubmitter {
    sender: std::sync::OnceLock<std::sync::mpsc::Sender<Submission>>,
}

struct Submission {
    entry: Vec<u8>,
    now_unix_millis: u64,
    max_merge_delay_millis: u64,
    reply: tokio::sync::oneshot::Sender<Result<u64, String>>,
    /// Where this process's sequencer hands over the receipt.
    deliver: Option<certeza_log::sequencer::ReceiptDelivery>,
}

/// Most entries queued in one transaction.
const SUBMISSION_BATCH_MAX: usize = 4096;

impl LogSubmitter {
    /// Queues `entry` durably; returns its pending id and where its receipt
    /// will arrive. The receipt is asked for before the entry is committed,
    /// so the sequencer cannot integrate it unnoticed.
    async fn enqueue(
        &self,
        store: &Arc<certeza_store::Store>,
        signal: &Arc<IntegrationSignal>,
        entry: Vec<u8>,
        now_unix_millis: u64,
        max_merge_delay_millis: u64,
    ) -> Result<(u64, tokio::sync::oneshot::Receiver<Receipt>), AppError> {
        let sender = self.sender.get_or_init(|| spawn_submitter(store.clone(), signal.clone()));
        let (reply, replied) = tokio::sync::oneshot::channel();
        let (receipt_sender, receipt) = tokio::sync::oneshot::channel();
        let deliver: certeza_log::sequencer::ReceiptDelivery = Box::new(move |delivered| {
            let _ = receipt_sender.send(delivered);
        });
        sender
            .send(Submission { entry, now_unix_millis, max_merge_delay_millis, reply, deliver: Some(deliver) })
            .map_err(|_| AppError::internal("the log submitter stopped"))?;
        let pending_id = replied
            .await
            .map_err(|_| AppError::internal("the log submitter dropped a submission"))?
            .map_err(AppError::internal)?;
        Ok((pending_id, receipt))
    }
}

fn spawn_submitter(
    store: Arc<certeza_store::Store>,
    signal: Arc<IntegrationSignal>,
) -> std::sync::mpsc::Sender<Submission> {
    let (sender, receiver) = std::sync::mpsc::channel::<Submission>();
    let spawned = std::thread::Builder::new().name("log-submitter".to_owned()).spawn(move || {
        let log = LogStore::new(&store);
        while let Ok(first) = receiver.recv() {
            let mut batch = vec![first];
            while batch.len() < SUBMISSION_BATCH_MAX {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let mut registered = Vec::with_capacity(batch.len());
            let queued = log.with_transaction(|transaction| {
                let mut queued = Vec::with_capacity(batch.len());
                for submission in &mut batch {
                    let entry = transaction.enqueue_log_entry(
                        &submission.entry,
                        submission.now_unix_millis,
                        submission.max_merge_delay_millis,
                    )?;
                    // Before the commit: the sequencer cannot see the entry yet.
                    if let Some(deliver) = submission.deliver.take() {
                        signal.on_receipt(entry.pending_id, deliver);
                        registered.push(entry.pending_id);
                    }
                    queued.push(entry);
                }
                Ok(queued)
            });
            if queued.is_err() {
                for pending_id in registered {
                    signal.forget_receipt(pending_id);
                }
            }
            // The entries were built and bounded by the server, so a failure
            // is the database's: everyone gets it. No retry one by one: a
            // commit whose outcome is unknown may have landed, and the log
            // must not hold an entry twice.
            match queued {
                Ok(queued) => {
                    for (submission, queued) in batch.into_iter().zip(queued) {
                        let _ = submission.reply.send(Ok(queued.pending_id));
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    for submission in batch {
                        let _ = submission.reply.send(Err(message.clone()));
                    }
                }
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "the log submitter thread could not start");
    }
    sender
}

/// `GET /log/checkpoint`, with the witnesses' cosignatures appended (see
/// [`crate::witness_routes::cosigned_checkpoint`]).
pub(crate) async fn checkpoint(state: State<AppState>) -> Result<Response, AppError> {
    crate::witness_routes::cosigned_checkpoint(state).await
}

pub(crate) async fn tile(State(state): State<AppState>, Path(rest): Path<String>) -> Result<Response, AppError> {
    let path = format!("tile/{rest}");
    // Only canonical C2SP paths are served; anything else is not found.
    let tile = Tile::parse_path(&path).or_else(|_| Tile::parse_entries_path(&path)).map_err(|_| AppError::NotFound)?;
    let log = state.log.clone();
    let data = tokio::task::spawn_blocking(move || log.tiles.get(&path))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    // Full tiles never change; a partial tile of a given width never changes either.
    let cache = if tile.is_partial() { "public, max-age=60" } else { "public, max-age=31536000, immutable" };
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, cache)], data).into_response())
}

pub(crate) async fn proof(State(state): State<AppState>, Path(index): Path<String>) -> Result<Response, AppError> {
    let index: u64 =
        index.parse().map_err(|_| AppError::BadRequest("the index must be a non-negative integer".into()))?;
    let store = state.store.clone();
    let receipt = tokio::task::spawn_blocking(move || LogStore::new(&store).receipt(index))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    let text = receipt.encode().map_err(AppError::internal)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], text)
        .into_response())
}

/// A synchronous submission: the entry without its time, which the server sets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmittedEntry {
    kind: String,
    actor: String,
    purpose: String,
    #[serde(default)]
    subject_commitment: Option<String>,
    #[serde(default)]
    details_hash: Option<String>,
}

fn parse_hash(text: Option<&str>, what: &str) -> Result<Option<[u8; 32]>, AppError> {
    let Some(text) = text else { return Ok(None) };
    let invalid = || AppError::BadRequest(format!("{what} must be 64 lower-case hexadecimal digits"));
    if text.len() != 64 {
        return Err(invalid());
    }
    let mut hash = [0u8; 32];
    for (position, byte) in hash.iter_mut().enumerate() {
        let pair = text.get(position * 2..position * 2 + 2).ok_or_else(invalid)?;
        if pair.bytes().any(|digit| !matches!(digit, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid());
        }
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(Some(hash))
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<SubmittedEntry>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Some(expected) = state.log.submit_token_sha256 else { return Err(AppError::NotFound) };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    if !crate::constant_time_equal(&crate::sha256(presented.as_bytes()), &expected) {
        return Err(AppError::Unauthorized);
    }
    let Json(submitted) = body.map_err(AppError::from_json_rejection)?;
    let entry = LogEntry {
        v: 1,
        kind: submitted.kind,
        time_unix_millis: state.clock.now_unix_millis(),
        actor: submitted.actor,
        purpose: submitted.purpose,
        subject_commitment: parse_hash(submitted.subject_commitment.as_deref(), "subject_commitment")?,
        details_hash: parse_hash(submitted.details_hash.as_deref(), "details_hash")?,
    };
    let bytes = entry.encode().map_err(|error| AppError::BadRequest(error.to_string()))?;
    let now = entry.time_unix_millis;
    let merge_delay = u64::try_from(state.log.submit_timeout.as_millis()).unwrap_or(u64::MAX);
    let (pending_id, receiver) =
        state.log.submitter.enqueue(&state.store, &state.log.signal, bytes, now, merge_delay).await?;
    let receipt = wait_for_receipt(&state, pending_id, receiver).await?;
    let encoded = receipt.encode().map_err(AppError::internal)?;
    let body = serde_json::json!({ "index": receipt.index, "receipt": encoded });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
