//! The HTTP service in-process (`oneshot`) and over a real socket.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::time::Duration;

use certeza_core::FixedClock;
use certeza_log::note::NoteSigner;
use certeza_log::sequencer::IntegrationSignal;
use certeza_server::log_routes::LogContext;
use certeza_server::{AppState, router, serve};
use certeza_store::Store;
use certeza_store::log::FsTileStore;
use tower::ServiceExt;

fn state(directory: &std::path::Path) -> AppState {
    let store = Store::open(&format!("sqlite://{}", directory.join("certeza.db").display())).unwrap();
    let signer = NoteSigner::from_seed("certeza.test/log", [7u8; 32]).unwrap();
    let log = LogContext {
        origin: "certeza.test/log".to_owned(),
        verifier_key: signer.verifier_key_string(),
        signer,
        tiles: FsTileStore::new(directory.join("log")),
        signal: Arc::new(IntegrationSignal::new()),
        submit_token_sha256: Some(certeza_server::sha256(b"submit-secret")),
        submit_timeout: Duration::from_secs(5),
    };
    let store = Arc::new(store);
    let clock: Arc<dyn certeza_core::Clock> = Arc::new(FixedClock::new(1_700_000_000_000));
    let citizen = certeza_server::citizen::CitizenContext {
        notifier: Arc::new(certeza_server::notifier::OutboxNotifier::new(store.clone(), clock.clone())),
        secure_cookies: false,
    };
    AppState {
        store,
        demo: true,
        clock,
        log: Arc::new(log),
        verification: Arc::new(verification_context(directory)),
        citizen: Arc::new(citizen),
    }
}

fn verification_context(directory: &std::path::Path) -> certeza_server::verification::VerificationContext {
    let keys = certeza_crypto::KeyDirectory::new(directory.join("keys"));
    keys.ensure_all(1).unwrap();
    let sealer = certeza_store::registry::PersonSealer::new(&keys.load().unwrap()).unwrap();
    certeza_server::verification::VerificationContext::new(
        Arc::new(sealer),
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
        "certeza.test/log".to_owned(),
        5_000,
    )
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn health_readiness_and_landing_in_process() {
    let directory = tempfile::tempdir().unwrap();
    let app = router(state(directory.path()));
    let response = app.clone().oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "ok\n");

    let response = app.clone().oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response).await.contains("0 people"));

    let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = body_text(response).await;
    assert!(page.contains("lang=\"es-MX\""));
    assert!(page.contains("Modo de demostración"));
}

#[tokio::test]
async fn unknown_paths_are_problem_json() {
    let directory = tempfile::tempdir().unwrap();
    let response = router(state(directory.path()))
        .oneshot(Request::get("/no/such/page").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(problem["status"], 404);
}

#[tokio::test]
async fn serves_over_a_real_socket_and_shuts_down_gracefully() {
    let directory = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router(state(directory.path())), async {
        let _ = stopped.await;
    }));
    let (health, missing) = tokio::task::spawn_blocking(move || {
        let health =
            ureq::get(&format!("http://{address}/healthz")).call().unwrap().into_body().read_to_string().unwrap();
        let missing = ureq::get(&format!("http://{address}/missing")).call();
        (health, missing)
    })
    .await
    .unwrap();
    assert_eq!(health, "ok\n");
    assert!(matches!(missing, Err(ureq::Error::StatusCode(404))));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
