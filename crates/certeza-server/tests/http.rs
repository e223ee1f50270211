//! The HTTP service in-process (`oneshot`) and over a real socket.
#![allow(clippy::unwrap_used)]

/// The relying-party verification API (same binary, to keep link time down).
#[path = "http/verification.rs"]
mod verification;

/// HTTPS and mutual TLS, over a real socket.
#[path = "http/tls.rs"]
mod tls;

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
        submitter: Default::default(),
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
        credentials: certeza_server::credential_routes::context(
            certeza_server::credentials::CredentialAuthority::new(
                directory,
                "certeza.test",
                "https://certeza.test/credentials/status",
            ),
            "issuer-secret",
        ),
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

// ---------------------------------------------------------------------------
// Citizen sign-in and /mis-accesos.

/// Everything logged by any test of this binary (a process-wide subscriber),
/// so the citizen tests can check that no personal value was logged.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer_buffer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || CapturedWriter(writer_buffer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

struct CapturedWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A state with one imported person, and the clock the test controls.
fn citizen_state(directory: &std::path::Path) -> (AppState, Arc<FixedClock>, certeza_core::Person) {
    let mut state = state(directory);
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    state.clock = clock.clone();
    let person = certeza_core::PopulationGenerator::new(11).next().unwrap();
    let sealed = state.verification.sealer.seal(&person);
    state.store.registry().upsert_people(&[sealed], 1).unwrap();
    (state, clock, person)
}

fn form_post(path: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

fn get_with_cookie(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::empty()).unwrap()
}

/// The `name=value` part of the response's cookie `name`, and its attributes.
fn response_cookie(response: &axum::response::Response, name: &str) -> Option<(String, String)> {
    response.headers().get_all("set-cookie").iter().filter_map(|value| value.to_str().ok()).find_map(|value| {
        let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
        pair.starts_with(&format!("{name}=")).then(|| (pair.to_owned(), attributes.to_owned()))
    })
}

/// Asks for a code; returns the sign-in cookie and the code from the outbox.
async fn request_code(app: &axum::Router, state: &AppState, person: &certeza_core::Person) -> (String, String) {
    let body = format!("curp={}&cic={}", person.curp.as_str(), person.cic.as_str());
    let response = app.clone().oneshot(form_post("/entrar", &body, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/entrar/codigo");
    let (cookie, attributes) = response_cookie(&response, "certeza_entrada").unwrap();
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax"), "{attributes}");
    let newest = state.store.outbox_messages(1).unwrap().remove(0);
    assert!(!newest.destination.contains(&person.phone), "the outbox keeps only a masked destination");
    let code: String = newest.body.chars().filter(char::is_ascii_digit).take(6).collect();
    (cookie, code)
}

fn wrong_code(code: &str) -> String {
    code.chars().map(|digit| if digit == '9' { '0' } else { char::from(digit as u8 + 1) }).collect()
}

#[tokio::test]
async fn citizen_sign_in_answers_a_wrong_cic_exactly_like_an_unknown_curp() {
    let directory = tempfile::tempdir().unwrap();
    let (state, _clock, person) = citizen_state(directory.path());
    let app = router(state.clone());
    let stranger = certeza_core::PopulationGenerator::new(12).next().unwrap();
    let wrong_cic = if person.cic.as_str() == "000000000" { "000000001" } else { "000000000" };

    let wrong = app
        .clone()
        .oneshot(form_post("/entrar", &format!("curp={}&cic={wrong_cic}", person.curp.as_str()), None))
        .await
        .unwrap();
    let unknown = app
        .clone()
        .oneshot(form_post("/entrar", &format!("curp={}&cic={}", stranger.curp.as_str(), person.cic.as_str()), None))
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(response_cookie(&wrong, "certeza_entrada").is_none());
    let (wrong, unknown) = (body_text(wrong).await, body_text(unknown).await);
    assert!(wrong.contains("No pudimos confirmar sus datos"), "{wrong}");
    assert_eq!(wrong, unknown, "a wrong CIC and an unknown CURP must look the same");
    assert!(!wrong.contains(person.curp.as_str()), "the page does not echo the CURP");
    assert!(state.store.outbox_messages(10).unwrap().is_empty(), "no code is sent");

    // A malformed CURP is a format error, which says nothing about the registry.
    let malformed = app.clone().oneshot(form_post("/entrar", "curp=ABC&cic=1", None)).await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(malformed).await.contains("18 caracteres"));

    // A cross-site post is refused before anything else.
    let cross_site = Request::post("/entrar")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "certeza.test")
        .header("origin", "https://evil.example")
        .body(Body::from(format!("curp={}&cic={}", person.curp.as_str(), person.cic.as_str())))
        .unwrap();
    assert_eq!(app.oneshot(cross_site).await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn citizen_codes_expire_allow_five_attempts_and_requests_are_rate_limited() {
    let logs = captured_logs();
    let directory = tempfile::tempdir().unwrap();
    let (state, clock, person) = citizen_state(directory.path());
    let app = router(state.clone());

    // Five wrong attempts use the code up; the right code is refused after them.
    let (cookie, code) = request_code(&app, &state, &person).await;
    for remaining in (1..=4).rev() {
        let response = app
            .clone()
            .oneshot(form_post("/entrar/codigo", &format!("codigo={}", wrong_code(&code)), Some(&cookie)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let page = body_text(response).await;
        assert!(
            page.contains(&format!("Le queda{} {remaining} intento", if remaining == 1 { "" } else { "n" })),
            "{page}"
        );
    }
    let fifth = app
        .clone()
        .oneshot(form_post("/entrar/codigo", &format!("codigo={}", wrong_code(&code)), Some(&cookie)))
        .await
        .unwrap();
    assert!(body_text(fifth).await.contains("se agotaron los intentos"));
    let right =
        app.clone().oneshot(form_post("/entrar/codigo", &format!("codigo={code}"), Some(&cookie))).await.unwrap();
    assert_eq!(right.status(), StatusCode::BAD_REQUEST);
    assert!(response_cookie(&right, "certeza_sesion").is_none());

    // A code is refused once its five minutes are over.
    let (cookie, code) = request_code(&app, &state, &person).await;
    clock.advance(certeza_server::citizen::CODE_TTL_MILLIS);
    let late =
        app.clone().oneshot(form_post("/entrar/codigo", &format!("codigo={code}"), Some(&cookie))).await.unwrap();
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(late).await.contains("El código venció"));

    // The right code in time opens a 30-minute HttpOnly, SameSite=Lax session.
    let (cookie, code) = request_code(&app, &state, &person).await;
    let signed_in =
        app.clone().oneshot(form_post("/entrar/codigo", &format!("codigo={code}"), Some(&cookie))).await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/mis-accesos");
    let (session, attributes) = response_cookie(&signed_in, "certeza_sesion").unwrap();
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax"), "{attributes}");
    assert!(attributes.contains("Max-Age=1800") && !attributes.contains("Secure"), "{attributes}");
    let page = app.clone().oneshot(get_with_cookie("/mis-accesos", Some(&session))).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = body_text(page).await;
    assert!(page.contains("Ninguna institución ha consultado sus datos"), "{page}");
    assert!(page.contains("name=\"csrf\""), "the sign-out form carries the CSRF token");
    let json = app.clone().oneshot(get_with_cookie("/mis-accesos.json", Some(&session))).await.unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body_text(json).await).unwrap();
    let person_id = state.verification.sealer.person_id(&person.curp);
    let person_id_hex: String = person_id.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(json["person_id"], person_id_hex.as_str());
    assert_eq!(json["entries"], serde_json::json!([]));

    // Signing out needs the session's CSRF token, then ends the session.
    let refused = app.clone().oneshot(form_post("/salir", "csrf=wrong", Some(&session))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let out = app.clone().oneshot(form_post("/salir", &format!("csrf={csrf}"), Some(&session))).await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = app.clone().oneshot(get_with_cookie("/mis-accesos.json", Some(&session))).await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // Three requests so far; the sixth within 15 minutes is refused.
    for _ in 0..2 {
        request_code(&app, &state, &person).await;
    }
    let body = format!("curp={}&cic={}", person.curp.as_str(), person.cic.as_str());
    let limited = app.clone().oneshot(form_post("/entrar", &body, None)).await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));

    // Nothing personal reached the logs (of this or any other test).
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("citizen signed in"), "the flow logs its steps: {logged}");
    for secret in [person.curp.as_str(), person.cic.as_str(), &person.phone, &person.email, &code, &person.given_names]
    {
        assert!(!logged.contains(secret), "a personal value or code was logged");
    }
}

#[tokio::test]
async fn citizen_pages_need_a_session_and_the_outbox_exists_only_in_the_demo() {
    let directory = tempfile::tempdir().unwrap();
    let (state, _clock, _person) = citizen_state(directory.path());
    let app = router(state.clone());
    for cookie in [None, Some("certeza_sesion=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), Some("certeza_sesion=%%")]
    {
        let page = app.clone().oneshot(get_with_cookie("/mis-accesos", cookie)).await.unwrap();
        assert_eq!(page.status(), StatusCode::SEE_OTHER);
        assert_eq!(page.headers()["location"], "/entrar");
        let json = app.clone().oneshot(get_with_cookie("/mis-accesos.json", cookie)).await.unwrap();
        assert_eq!(json.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json.headers()["content-type"], "application/problem+json");
    }
    let form = app.clone().oneshot(get_with_cookie("/entrar", None)).await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let form = body_text(form).await;
    assert!(form.contains("<label for=\"curp\">") && form.contains("<label for=\"cic\">"));
    let outbox = app.oneshot(get_with_cookie("/demo/buzon", None)).await.unwrap();
    assert_eq!(outbox.status(), StatusCode::OK);

    let mut production = state;
    production.demo = false;
    let outbox = router(production).oneshot(get_with_cookie("/demo/buzon", None)).await.unwrap();
    assert_eq!(outbox.status(), StatusCode::NOT_FOUND);
}
