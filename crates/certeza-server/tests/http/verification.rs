//! `POST /v1/verifications` in-process: answers, idempotency, policy, limits,
//! the enumeration defence, and that nothing stored ever leaks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use certeza_core::{CredentialStatus, FixedClock, Person, PopulationGenerator};
use certeza_crypto::KeyDirectory;
use certeza_log::note::NoteSigner;
use certeza_log::sequencer::IntegrationSignal;
use certeza_server::log_routes::LogContext;
use certeza_server::verification::{Policy, VerificationContext, verify_receipt};
use certeza_server::{AppState, router};
use certeza_store::Store;
use certeza_store::log::{FsTileStore, LogStore};
use certeza_store::registry::PersonSealer;
use ed25519_dalek::SigningKey;
use tower::ServiceExt;

pub(crate) struct Fixture {
    _directory: tempfile::TempDir,
    pub(crate) app: Router,
    pub(crate) store: Arc<Store>,
    pub(crate) people: Vec<Person>,
    receipt_key: SigningKey,
}

pub(crate) fn policy(field_booleans: bool, rate: u32, threshold: f64, minimum: u32) -> Policy {
    Policy {
        purposes: vec!["apertura-de-cuenta".to_owned()],
        fields: vec!["curp".into(), "cic".into(), "ocr".into(), "given_names".into(), "birth_date".into()],
        field_booleans,
        rate_per_second: rate,
        daily_quota: 1_000,
        enumeration_threshold: threshold,
        enumeration_min_requests: minimum,
        client_certificate_sha256: None,
    }
}

pub(crate) fn fixture() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("db").display());
    fixture_on(directory, &url)
}

/// The fixture with its registry in the database at `url`.
fn fixture_on(directory: tempfile::TempDir, url: &str) -> Fixture {
    let keys = KeyDirectory::new(directory.path().join("keys"));
    keys.ensure_all(1).unwrap();
    let sealer = PersonSealer::new(&keys.load().unwrap()).unwrap();
    let store = Arc::new(Store::open(url).unwrap());
    let mut people: Vec<Person> = PopulationGenerator::new(5).take(40).collect();
    for person in &mut people {
        person.status = CredentialStatus::Vigente;
    }
    people[1].status = CredentialStatus::ReportedStolen;
    let sealed: Vec<_> = people.iter().map(|person| sealer.seal(person)).collect();
    store.registry().upsert_people(&sealed, 1).unwrap();
    for (name, key, booleans, rate, threshold, minimum) in [
        ("Banco Uno", "key-uno", true, 1000, 0.5, 10),
        ("Banco Sin Campos", "key-sin-campos", false, 1000, 0.9, 1000),
        ("Banco Lento", "key-lento", true, 2, 0.9, 1000),
    ] {
        let policy = serde_json::to_string(&policy(booleans, rate, threshold, minimum)).unwrap();
        store.add_relying_party(name, &certeza_server::sha256(key.as_bytes()), &policy, 1).unwrap();
    }
    let signer = NoteSigner::from_seed("certeza.test/log", [7u8; 32]).unwrap();
    let log = LogContext {
        origin: "certeza.test/log".to_owned(),
        verifier_key: signer.verifier_key_string(),
        signer,
        tiles: FsTileStore::new(directory.path().join("log")),
        signal: Arc::new(IntegrationSignal::new()),
        submit_token_sha256: None,
        submit_timeout: Duration::from_secs(1),
        submitter: Default::default(),
    };
    let receipt_key = SigningKey::from_bytes(&[7u8; 32]);
    let verification =
        VerificationContext::new(Arc::new(sealer), receipt_key.clone(), "certeza.test/log".to_owned(), 5_000);
    let clock: Arc<dyn certeza_core::Clock> = Arc::new(FixedClock::new(1_790_000_000_000));
    let citizen = certeza_server::citizen::CitizenContext {
        notifier: Arc::new(certeza_server::notifier::OutboxNotifier::new(store.clone(), clock.clone())),
        secure_cookies: false,
    };
    let state = AppState {
        store: store.clone(),
        demo: true,
        clock,
        log: Arc::new(log),
        verification: Arc::new(verification),
        citizen: Arc::new(citizen),
        credentials: certeza_server::credential_routes::context(
            certeza_server::credentials::CredentialAuthority::new(
                directory.path(),
                "certeza.test",
                "https://certeza.test/credentials/status",
            ),
            "issuer-secret",
        ),
    };
    Fixture { _directory: directory, app: router(state), store, people, receipt_key }
}

pub(crate) fn body(request_id: &str, fields: serde_json::Value) -> String {
    serde_json::json!({
        "request_id": request_id,
        "purpose": "apertura-de-cuenta",
        "consent": { "reference": "c-1", "obtained_at": "2026-01-01T12:00:00Z", "method": "en-sucursal" },
        "fields": fields,
    })
    .to_string()
}

pub(crate) async fn post(app: &Router, key: Option<&str>, body: String) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::post("/v1/verifications").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = app.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

pub(crate) fn fields_of(person: &Person) -> serde_json::Value {
    serde_json::json!({ "cic": person.cic.as_str(), "ocr": person.ocr.as_str(), "curp": person.curp.as_str() })
}

#[tokio::test]
async fn answers_valid_mismatch_status_and_not_found_without_leaking_anything() {
    let fixture = fixture();
    let person = &fixture.people[0];

    let (status, _, text) = post(&fixture.app, Some("key-uno"), body("r-1", fields_of(person))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer = json(&text);
    assert_eq!(answer["outcome"], "valid");
    assert_eq!(answer["fields"]["ocr"], true);
    assert!(answer.get("reason").is_none());

    // The receipt is a batch receipt signed with the receipt key, committing to the log entry.
    let payload = verify_receipt(&answer["receipt"], &fixture.receipt_key.verifying_key()).unwrap();
    assert_eq!(payload["log"]["leaf_hash"], answer["log"]["leaf_hash"]);
    assert_eq!(payload["outcome"], "valid");
    assert_eq!(payload["verification_id"], answer["verification_id"]);

    // One OCR digit changed: a mismatch, and only the OCR is false.
    let mut ocr = person.ocr.as_str().to_owned();
    let last = ocr.pop().unwrap();
    ocr.push(if last == '9' { '0' } else { char::from(last as u8 + 1) });
    let changed = serde_json::json!({ "cic": person.cic.as_str(), "ocr": ocr, "curp": person.curp.as_str() });
    let answer = json(&post(&fixture.app, Some("key-uno"), body("r-2", changed.clone())).await.2);
    assert_eq!((answer["outcome"].as_str(), answer["reason"].as_str()), (Some("invalid"), Some("mismatch")));
    assert_eq!(answer["fields"]["ocr"], false);
    assert_eq!(answer["fields"]["cic"], true);

    // Without field booleans in the policy, no fields are returned.
    let answer = json(&post(&fixture.app, Some("key-sin-campos"), body("r-2", changed)).await.2);
    assert_eq!(answer["reason"], "mismatch");
    assert!(answer.get("fields").is_none());

    // A reported-stolen credential.
    let answer = json(&post(&fixture.app, Some("key-uno"), body("r-3", fields_of(&fixture.people[1]))).await.2);
    assert_eq!((answer["outcome"].as_str(), answer["reason"].as_str()), (Some("invalid"), Some("reported_stolen")));

    // Nobody with that CIC.
    let answer =
        json(&post(&fixture.app, Some("key-uno"), body("r-4", serde_json::json!({ "cic": "000000001" }))).await.2);
    assert_eq!(answer["reason"], "not_found");
    assert!(answer.get("fields").is_none());

    // No stored value appears in an answer, and no presented or stored value
    // is written anywhere in clear: not in the verification rows, not in the
    // queued log entries, not in the registry.
    for secret in [&person.given_names, &person.first_surname, &person.phone, &person.email] {
        assert!(!text.contains(secret.as_str()));
    }
    if let Store::Sqlite(sqlite) = fixture.store.as_ref() {
        sqlite.with_connection(|connection| Ok(connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?)).unwrap();
    }
    let database = std::fs::read(fixture._directory.path().join("db")).unwrap();
    for value in [person.curp.as_str(), person.cic.as_str(), person.ocr.as_str(), person.first_surname.as_str()] {
        assert!(!database.windows(value.len()).any(|window| window == value.as_bytes()), "a value is in clear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_given_together_each_carry_a_receipt_of_their_batch_that_verifies() {
    let fixture = fixture();
    let requests = (0..48).map(|index| {
        let app = fixture.app.clone();
        let fields = fields_of(&fixture.people[index % fixture.people.len()]);
        tokio::spawn(async move { post(&app, Some("key-uno"), body(&format!("together-{index}"), fields)).await })
    });
    let mut batch_sizes = Vec::new();
    let mut verification_ids = std::collections::HashSet::new();
    for request in requests.collect::<Vec<_>>() {
        let (status, _, text) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        let answer = json(&text);
        let statement = verify_receipt(&answer["receipt"], &fixture.receipt_key.verifying_key()).unwrap();
        assert_eq!(statement["verification_id"], answer["verification_id"]);
        assert_eq!(statement["request_id"].as_str().map(|id| id.starts_with("together-")), Some(true));
        assert!(verification_ids.insert(answer["verification_id"].to_string()));
        batch_sizes.push(answer["receipt"]["batch"]["size"].as_u64().unwrap());
    }
    // The sizes depend on timing; every receipt verified whatever they were.
    println!("batch sizes: {batch_sizes:?}");
}

/// On PostgreSQL (when `CERTEZA_TEST_POSTGRES_URL` is set) registry lookups
/// go through the lookup threads, many per query: answers given together are
/// each about their own person.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_lookups_asked_together_each_find_their_own_person() {
    let Ok(admin_url) = std::env::var("CERTEZA_TEST_POSTGRES_URL") else {
        eprintln!("PostgreSQL skipped: CERTEZA_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = format!("certeza_http_{}", std::process::id());
    let admin = |statement: String| {
        let admin_url = admin_url.clone();
        std::thread::spawn(move || {
            postgres::Client::connect(&admin_url, postgres::NoTls).unwrap().batch_execute(&statement).unwrap()
        })
        .join()
        .unwrap()
    };
    admin(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
    admin(format!("CREATE DATABASE {database}"));
    let url = format!("{}/{database}", admin_url.rsplit_once('/').unwrap().0);
    let fixture = tokio::task::spawn_blocking(move || fixture_on(tempfile::tempdir().unwrap(), &url)).await.unwrap();
    let requests = (0..40).map(|index| {
        let app = fixture.app.clone();
        let person = &fixture.people[index % fixture.people.len()];
        // Every fifth asks by a CIC nobody has.
        let fields = if index % 5 == 4 { serde_json::json!({ "cic": "000000000" }) } else { fields_of(person) };
        let request = body(&format!("pg-{index}"), fields);
        tokio::spawn(async move { post(&app, Some("key-uno"), request).await })
    });
    for (index, request) in requests.collect::<Vec<_>>().into_iter().enumerate() {
        let (status, _, text) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        let answer = json(&text);
        let expected = match index % fixture.people.len() {
            _ if index % 5 == 4 => ("invalid", Some("not_found")),
            1 => ("invalid", Some("reported_stolen")),
            _ => ("valid", None),
        };
        assert_eq!((answer["outcome"].as_str().unwrap(), answer["reason"].as_str()), expected, "{index}: {text}");
        verify_receipt(&answer["receipt"], &fixture.receipt_key.verifying_key()).unwrap();
    }
    // The blocking PostgreSQL client may not be dropped on the runtime's threads.
    tokio::task::spawn_blocking(move || drop(fixture)).await.unwrap();
    admin(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
}

#[tokio::test]
async fn the_same_request_id_gets_the_same_answer_and_a_different_request_is_a_conflict() {
    let fixture = fixture();
    let person = &fixture.people[0];
    let first = post(&fixture.app, Some("key-uno"), body("same", fields_of(person))).await;
    let second = post(&fixture.app, Some("key-uno"), body("same", fields_of(person))).await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(first.2, second.2);
    // What is stored is the parts the answer is rendered from again, well
    // under half of its size.
    let party = fixture.store.relying_party_by_key(&certeza_server::sha256(b"key-uno")).unwrap().unwrap();
    let stored = fixture.store.stored_verification_response(party.id, "same").unwrap().unwrap();
    assert_ne!(stored.response, first.2);
    assert!(stored.response.len() * 2 < first.2.len(), "{} bytes stored: {}", stored.response.len(), stored.response);
    // Not found, and a policy without field booleans: the same answer again too.
    let mut unknown = fields_of(person);
    unknown["cic"] = serde_json::json!("000000000");
    for (key, request_id, fields) in
        [("key-uno", "unknown", unknown), ("key-sin-campos", "no-booleans", fields_of(&fixture.people[3]))]
    {
        let first = post(&fixture.app, Some(key), body(request_id, fields.clone())).await;
        let again = post(&fixture.app, Some(key), body(request_id, fields)).await;
        assert_eq!(first.0, StatusCode::OK, "{}", first.2);
        assert_eq!(first.2, again.2);
    }
    let other = post(&fixture.app, Some("key-uno"), body("same", fields_of(&fixture.people[2]))).await;
    assert_eq!(other.0, StatusCode::CONFLICT);
    // Another relying party may use the same request id independently.
    let elsewhere = post(&fixture.app, Some("key-sin-campos"), body("same", fields_of(person))).await;
    assert_eq!(elsewhere.0, StatusCode::OK);
    assert_ne!(json(&elsewhere.2)["verification_id"], json(&first.2)["verification_id"]);
}

#[tokio::test]
async fn bad_requests_are_problem_json_never_500() {
    let fixture = fixture();
    let person = &fixture.people[0];
    let cases: Vec<(Option<&str>, String, StatusCode)> = vec![
        (None, body("a", fields_of(person)), StatusCode::UNAUTHORIZED),
        (Some("wrong-key"), body("a", fields_of(person)), StatusCode::UNAUTHORIZED),
        (Some("key-uno"), "{not json".to_owned(), StatusCode::BAD_REQUEST),
        (Some("key-uno"), r#"{"request_id": 5}"#.to_owned(), StatusCode::BAD_REQUEST),
        (Some("key-uno"), format!("{{\"padding\": \"{}\"}}", "x".repeat(200_000)), StatusCode::PAYLOAD_TOO_LARGE),
        (
            Some("key-uno"),
            serde_json::json!({"request_id": "b", "purpose": "apertura-de-cuenta", "fields": fields_of(person)})
                .to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Some("key-uno"),
            body("c", fields_of(person)).replace("apertura-de-cuenta", "curiosidad"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Some("key-uno"),
            body(
                "d",
                serde_json::json!({ "cic": person.cic.as_str(), "clave_elector": person.clave_elector.as_str() }),
            ),
            StatusCode::FORBIDDEN,
        ),
        (Some("key-uno"), body("e", serde_json::json!({ "cic": "12ab" })), StatusCode::BAD_REQUEST),
        (Some("key-uno"), body("f", serde_json::json!({ "given_names": "Ana" })), StatusCode::BAD_REQUEST),
        (Some("key-uno"), body("", fields_of(person)), StatusCode::BAD_REQUEST),
    ];
    for (key, request, expected) in cases {
        let (status, headers, text) = post(&fixture.app, key, request).await;
        assert_eq!(status, expected, "{text}");
        assert_eq!(headers["content-type"], "application/problem+json", "{text}");
        assert!(!text.contains(person.cic.as_str()));
    }
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let fixture = fixture();
    let person = &fixture.people[0];
    let mut statuses = Vec::new();
    for attempt in 0..4 {
        let (status, headers, _) =
            post(&fixture.app, Some("key-lento"), body(&format!("r{attempt}"), fields_of(person))).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(headers.contains_key("retry-after"));
        }
        statuses.push(status);
    }
    assert_eq!(statuses[..2], [StatusCode::OK, StatusCode::OK]);
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn hammering_with_random_cics_throttles_and_logs_an_alert() {
    let fixture = fixture();
    let pending_before = LogStore::new(&fixture.store).pending_count().unwrap();
    let mut throttled = false;
    for attempt in 0..30 {
        let cic = format!("{:09}", 100_000_000 + attempt * 7919);
        let (status, headers, _) =
            post(&fixture.app, Some("key-uno"), body(&format!("h{attempt}"), serde_json::json!({ "cic": cic }))).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(headers.contains_key("retry-after"));
            throttled = true;
            break;
        }
    }
    assert!(throttled, "random CICs must get the relying party throttled");
    // Every answered verification and the alert are queued for the log.
    let pending_after = LogStore::new(&fixture.store).pending_count().unwrap();
    assert_eq!(pending_after - pending_before, 11, "10 verifications and one alert");
}

#[tokio::test]
async fn openapi_and_metrics_describe_the_service() {
    let fixture = fixture();
    let response =
        fixture.app.clone().oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/v1/verifications"]["post"].is_object());
    assert_eq!(
        document["components"]["schemas"]["VerificationRequest"]["properties"]["fields"]["properties"]
            .as_object()
            .unwrap()
            .len(),
        certeza_server::verification::ALL_FIELDS.len()
    );

    post(&fixture.app, Some("key-uno"), body("m-1", fields_of(&fixture.people[0]))).await;
    let mut changed = fields_of(&fixture.people[0]);
    changed["ocr"] = serde_json::json!("0000000000000");
    post(&fixture.app, Some("key-uno"), body("m-2", changed)).await;
    let response = fixture.app.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(text.contains("certeza_http_requests_total{route=\"/v1/verifications\",status=\"200\"}"), "{text}");
    // Verifications are counted by relying party, outcome and reason (other
    // tests in this process may have counted some too).
    for kind in ["outcome=\"valid\",reason=\"\"", "outcome=\"invalid\",reason=\"mismatch\""] {
        let prefix = format!("certeza_verifications_total{{relying_party=\"Banco Uno\",{kind}}} ");
        let count: u64 = text
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .parse()
            .unwrap();
        assert!(count >= 1, "{text}");
    }
    assert!(!text.contains(fixture.people[0].cic.as_str()));
    assert!(!text.contains(fixture.people[0].curp.as_str()));
}

async fn issue_credential(app: &Router, token: Option<&str>, body: serde_json::Value) -> (StatusCode, String) {
    let mut request = Request::post("/v1/credentials").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_issuer_endpoint_issues_verifiable_credentials_and_refuses_the_rest() {
    let fixture = fixture();
    let person = &fixture.people[0];
    let request = serde_json::json!({ "curp": person.curp.as_str() });
    assert_eq!(issue_credential(&fixture.app, None, request.clone()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(issue_credential(&fixture.app, Some("wrong"), request.clone()).await.0, StatusCode::UNAUTHORIZED);

    let (status, text) = issue_credential(&fixture.app, Some("issuer-secret"), request).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let answer = json(&text);
    let code = answer["code"].as_str().unwrap();
    assert!(code.starts_with("CZ1:"));
    let decoded = certeza_credential::decode(code).unwrap();
    assert_eq!(decoded.encode(), code);

    // A stolen credential gets no cpv, an unknown person is not found, a bad CURP is a 400.
    let stolen = serde_json::json!({ "curp": fixture.people[1].curp.as_str() });
    assert_eq!(issue_credential(&fixture.app, Some("issuer-secret"), stolen).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = serde_json::json!({ "curp": "BOXW310820HNERXN09" });
    assert_eq!(issue_credential(&fixture.app, Some("issuer-secret"), unknown).await.0, StatusCode::NOT_FOUND);
    let malformed = serde_json::json!({ "curp": "BOXW310820HNERXN08" });
    let (status, text) = issue_credential(&fixture.app, Some("issuer-secret"), malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!text.contains("BOXW310820HNERXN08"));
}
