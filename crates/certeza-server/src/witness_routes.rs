//! Witnessing over HTTP: the C2SP `tlog-witness` service a witness runs
//! (`POST /add-checkpoint`, its own small router), and the log's side, which
//! serves its latest checkpoint with the witnesses' cosignatures appended.
//!
//! The decisions are [`certeza_log::witness::Witness::add_checkpoint`]'s; this
//! module only serialises requests, persists the witness's state before
//! answering, and maps the outcome onto a response.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use certeza_core::Clock;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::note::parse_note;
use certeza_log::sequencer::{CHECKPOINT_PATH, TileStore};
use certeza_log::witness::{AddCheckpointOutcome, TreeState, Witness};
use certeza_store::log::LogStore;

use crate::{AppError, AppState};

/// Persists a witness's whole state (origin → latest cosigned tree) durably;
/// it must have reached stable storage when it returns `Ok`.
pub type PersistWitnessState = dyn Fn(&BTreeMap<String, TreeState>) -> Result<(), String> + Send + Sync;

/// A witness service: the witness, its state and how to persist it.
pub struct WitnessService {
    witness: Witness,
    states: Mutex<BTreeMap<String, TreeState>>,
    persist: Box<PersistWitnessState>,
    clock: Arc<dyn Clock>,
}

impl WitnessService {
    /// A service starting from `states` (as last persisted) that calls
    /// `persist` with the new state before it answers any cosigned request.
    pub fn new(
        witness: Witness,
        states: BTreeMap<String, TreeState>,
        persist: Box<PersistWitnessState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { witness, states: Mutex::new(states), persist, clock }
    }

    /// The witness.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// Processes one request body. The state lock is held from the read of
    /// the previous state to the persisted update, so two concurrent requests
    /// can never both be cosigned against the same previous state.
    pub fn add_checkpoint(&self, body: &[u8]) -> AddCheckpointOutcome {
        let mut states = self.states.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = self.clock.now_unix_millis() / 1000;
        let outcome = self.witness.add_checkpoint(body, now, |origin| states.get(origin).copied());
        if let AddCheckpointOutcome::Cosigned { origin, new_state, .. } = &outcome {
            let mut next = states.clone();
            next.insert(origin.clone(), *new_state);
            if let Err(error) = (self.persist)(&next) {
                tracing::error!(%error, "the witness could not persist its state");
                return AddCheckpointOutcome::Internal("the witness could not persist its state".to_owned());
            }
            *states = next;
        }
        outcome
    }
}

/// The witness's router: `POST /add-checkpoint` and `GET /healthz`.
pub fn witness_router(service: Arc<WitnessService>) -> Router {
    witness_routes_under("", service).route("/healthz", axum::routing::get(|| async { "ok\n" }))
}

/// `POST {prefix}/add-checkpoint` alone, for a server that also witnesses other
/// logs (the main server mounts it at `/log/add-checkpoint`).
pub fn witness_routes_under(prefix: &str, service: Arc<WitnessService>) -> Router {
    Router::new()
        .route(&format!("{prefix}/add-checkpoint"), post(add_checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        .with_state(service)
}

async fn add_checkpoint(State(service): State<Arc<WitnessService>>, body: Bytes) -> Response {
    let outcome = match tokio::task::spawn_blocking(move || service.add_checkpoint(&body)).await {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(%error, "add-checkpoint task failed");
            AddCheckpointOutcome::Internal("internal error".to_owned())
        }
    };
    let status = StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, outcome.content_type())], outcome.body()).into_response()
}

/// `GET /log/checkpoint`: the latest published checkpoint note, with the
/// stored witness cosignatures for its size appended as extra signature
/// lines (C2SP tlog-cosignature). The stored and published note is unchanged.
pub(crate) async fn cosigned_checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let log = state.log.clone();
    let store = state.store.clone();
    let note = tokio::task::spawn_blocking(move || -> Result<Option<Vec<u8>>, AppError> {
        let Some(mut note) = log.tiles.get(CHECKPOINT_PATH).map_err(AppError::internal)? else { return Ok(None) };
        let size = parse_note(&note).ok().and_then(|parsed| Checkpoint::parse(&parsed.text).ok()).map(|c| c.size);
        if let Some(size) = size {
            for line in LogStore::new(&store).cosignatures(size).map_err(AppError::internal)? {
                note.extend_from_slice(line.as_bytes());
            }
        }
        Ok(Some(note))
    })
    .await
    .map_err(AppError::internal)??
    .ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], note)
        .into_response())
}
