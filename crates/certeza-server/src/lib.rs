//! Certeza's HTTP service.
//!
//! [`router`] builds the whole service from an [`AppState`]; tests drive it
//! in-process with `tower::ServiceExt::oneshot`, and end to end through
//! [`serve`] on a listener bound to port 0.
//!
//! Architecture Invariant: only this crate knows HTTP and JSON. Every error
//! leaves as RFC 9457 `application/problem+json` through [`AppError`], which
//! logs internal causes and never echoes them (nor any personal data).
#![forbid(unsafe_code)]

mod error;
mod pages;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use certeza_store::Store;

pub use error::{AppError, problem_response};

/// Largest request body any route accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// Whether this server runs the demo (enables demo-only pages).
    pub demo: bool,
}

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::landing))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/assets/certeza.css", get(pages::stylesheet))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes the
/// requests in flight (graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], "ok\n")
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let store = state.store.clone();
    let people = tokio::task::spawn_blocking(move || store.registry().count_people())
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        format!("ready: {people} people in the registry\n"),
    ))
}

async fn not_found() -> AppError {
    AppError::NotFound
}
