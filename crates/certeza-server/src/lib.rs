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

pub mod citizen;
pub mod credential_routes;
pub mod credentials;
mod error;
mod i18n;
pub mod log_routes;
pub mod notifier;
pub mod operations;
mod pages;
pub mod tls;
pub mod verification;
pub mod witness_routes;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use certeza_core::Clock;
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
    /// The wall clock (injected so tests control time).
    pub clock: Arc<dyn Clock>,
    /// The transparency log.
    pub log: Arc<log_routes::LogContext>,
    /// The relying-party verification service.
    pub verification: Arc<verification::VerificationContext>,
    /// Citizen sign-in and `/mis-accesos`.
    pub citizen: Arc<citizen::CitizenContext>,
    /// QR credentials: issuance, trust list, status list, `/verificar`.
    pub credentials: Arc<credential_routes::CredentialContext>,
}

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::landing))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/assets/certeza.css", get(pages::stylesheet))
        .route("/assets/mis-accesos.js", get(citizen::script))
        .route("/assets/favicon.svg", get(pages::favicon))
        .route("/entrar", get(citizen::sign_in_form).post(citizen::sign_in))
        .route("/entrar/codigo", get(citizen::code_form).post(citizen::submit_code))
        .route("/salir", get(citizen::sign_out_page).post(citizen::sign_out))
        .route("/mis-accesos", get(citizen::my_accesses))
        .route("/mis-accesos.json", get(citizen::my_accesses_json))
        .merge(citizen::demo_routes(state.demo))
        .route("/log/checkpoint", get(log_routes::checkpoint))
        .route("/log/tile/{*rest}", get(log_routes::tile))
        .route("/v1/log/proof/{index}", get(log_routes::proof))
        .route("/v1/log/entries", post(log_routes::submit))
        .route("/metrics", get(operations::metrics))
        .route("/openapi.json", get(operations::openapi))
        .route("/v1/verifications", post(verification::create))
        .route("/v1/verifications/key", get(verification::receipt_key))
        .route("/v1/verifications/{id}/proof", get(verification::proof))
        .merge(credential_routes::routes())
        .route_layer(axum::middleware::from_fn(operations::count_requests))
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

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}
