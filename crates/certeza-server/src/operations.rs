//! Operations endpoints: Prometheus `/metrics` and the OpenAPI 3.1 document.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

use crate::AppState;
use crate::verification::ALL_FIELDS;

/// The process's request counters (one set per process, as Prometheus expects).
static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

/// Request counters, by route template and status code, and verification
/// counters, by relying party, outcome and reason.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteCounters>>,
    /// By relying party (its name), then by outcome and reason (empty for a
    /// valid answer).
    verifications: Mutex<BTreeMap<String, VerificationCounters>>,
    in_flight: AtomicU64,
}

/// One route template's requests.
#[derive(Default)]
struct RouteCounters {
    by_status: BTreeMap<u16, u64>,
    seconds_total: f64,
}

/// A relying party's verifications, by outcome and reason.
type VerificationCounters = BTreeMap<(&'static str, &'static str), u64>;

/// Counts every request by its route template (never by its raw path, which
/// may carry identifiers) and status. Only a route's first request allocates.
pub(crate) async fn count_requests(request: Request, next: Next) -> Response {
    let metrics = &*METRICS;
    let route = request.extensions().get::<MatchedPath>().cloned();
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let mut routes = metrics.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let counters = match routes.get_mut(route) {
        Some(counters) => counters,
        None => routes.entry(route.to_owned()).or_default(),
    };
    *counters.by_status.entry(response.status().as_u16()).or_default() += 1;
    counters.seconds_total += seconds;
    response
}

/// Counts a verification answered for the first time (a replay of the same
/// request id is not counted again). Only a relying party's first allocates.
pub(crate) fn count_verification(relying_party: &str, outcome: &'static str, reason: Option<&'static str>) {
    let mut verifications = METRICS.verifications.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let by_kind = match verifications.get_mut(relying_party) {
        Some(by_kind) => by_kind,
        None => verifications.entry(relying_party.to_owned()).or_default(),
    };
    *by_kind.entry((outcome, reason.unwrap_or(""))).or_default() += 1;
}

fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /metrics` in the Prometheus text exposition format.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let metrics = &*METRICS;
    let mut text = String::from(
        "# HELP certeza_http_requests_total HTTP requests by route template and status.\n\
         # TYPE certeza_http_requests_total counter\n",
    );
    {
        let routes = metrics.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (route, counters) in routes.iter() {
            for (status, count) in &counters.by_status {
                text.push_str(&format!(
                    "certeza_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}\n",
                    escape_label(route)
                ));
            }
        }
        text.push_str(
            "# HELP certeza_http_request_seconds_total Time spent answering, by route template.\n\
             # TYPE certeza_http_request_seconds_total counter\n",
        );
        for (route, counters) in routes.iter() {
            text.push_str(&format!(
                "certeza_http_request_seconds_total{{route=\"{}\"}} {:.6}\n",
                escape_label(route),
                counters.seconds_total
            ));
        }
    }
    text.push_str(
        "# HELP certeza_verifications_total Verifications answered, by relying party, outcome and reason.\n\
         # TYPE certeza_verifications_total counter\n",
    );
    for (relying_party, by_kind) in metrics.verifications.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter()
    {
        for ((outcome, reason), count) in by_kind {
            text.push_str(&format!(
                "certeza_verifications_total{{relying_party=\"{}\",outcome=\"{outcome}\",reason=\"{reason}\"}} {count}\n",
                escape_label(relying_party)
            ));
        }
    }
    text.push_str(&format!(
        "# HELP certeza_http_requests_in_flight Requests being answered.\n\
         # TYPE certeza_http_requests_in_flight gauge\ncerteza_http_requests_in_flight {}\n",
        metrics.in_flight.load(Ordering::Relaxed)
    ));
    let store = state.store.clone();
    if let Ok(Ok(Some(checkpoint))) =
        tokio::task::spawn_blocking(move || certeza_store::log::LogStore::new(&store).latest_checkpoint()).await
    {
        text.push_str(&format!(
            "# HELP certeza_log_size Entries covered by the latest signed checkpoint.\n\
             # TYPE certeza_log_size gauge\ncerteza_log_size {}\n",
            checkpoint.size
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

fn problem_responses(codes: &[&str]) -> serde_json::Value {
    let mut responses = serde_json::Map::new();
    for code in codes {
        responses.insert(
            (*code).to_owned(),
            serde_json::json!({
                "description": "An RFC 9457 problem.",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
            }),
        );
    }
    serde_json::Value::Object(responses)
}

/// The OpenAPI 3.1 document, built from the same constants the handlers use.
pub fn openapi_document() -> serde_json::Value {
    let field_properties: serde_json::Map<String, serde_json::Value> =
        ALL_FIELDS.iter().map(|field| ((*field).to_owned(), serde_json::json!({ "type": "string" }))).collect();
    let field_booleans: serde_json::Map<String, serde_json::Value> =
        ALL_FIELDS.iter().map(|field| ((*field).to_owned(), serde_json::json!({ "type": "boolean" }))).collect();
    let mut verification_responses = problem_responses(&["400", "401", "403", "409", "413", "415", "422", "429"]);
    verification_responses["200"] = serde_json::json!({
        "description": "The answer (the same for a repeated request_id).",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerificationAnswer" } } }
    });
    let mut proof_responses = problem_responses(&["401", "404", "503"]);
    proof_responses["200"] = serde_json::json!({
        "description": "A C2SP tlog-proof receipt for the verification's log entry.",
        "content": { "text/plain": { "schema": { "type": "string" } } }
    });
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Certeza",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Online credential verification for relying parties, and the transparency log."
        },
        "components": {
            "securitySchemes": {
                "apiKey": { "type": "http", "scheme": "bearer" },
                "clientCertificate": {
                    "type": "mutualTLS",
                    "description": "Required, with the API key, of a relying party bound to a client certificate."
                }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": { "type": "string" }, "title": { "type": "string" },
                        "status": { "type": "integer" }, "detail": { "type": "string" }
                    },
                    "required": ["type", "title", "status"]
                },
                "VerificationRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["request_id", "purpose", "consent", "fields"],
                    "properties": {
                        "request_id": { "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" },
                        "purpose": { "type": "string" },
                        "consent": {
                            "type": "object", "additionalProperties": false,
                            "required": ["reference", "obtained_at", "method"],
                            "properties": {
                                "reference": { "type": "string", "maxLength": 128 },
                                "obtained_at": { "type": "string", "format": "date-time" },
                                "method": { "type": "string", "maxLength": 64 }
                            }
                        },
                        "fields": { "type": "object", "additionalProperties": false, "properties": field_properties }
                    }
                },
                "VerificationAnswer": {
                    "type": "object",
                    "required": ["verification_id", "outcome", "receipt", "log"],
                    "properties": {
                        "verification_id": { "type": "string" },
                        "outcome": { "enum": ["valid", "invalid"] },
                        "reason": { "enum": ["not_found", "mismatch", "reported_lost", "reported_stolen", "expired", "replaced", "cancelled"] },
                        "fields": { "type": "object", "properties": field_booleans },
                        "receipt": {
                            "type": "object",
                            "description": "A batch receipt, signed once per group commit. Check it with the key at /v1/verifications/key: hash the statement's bytes as an RFC 6962 leaf (SHA-256 of 0x00 and the bytes), follow the inclusion path (RFC 9162 2.1.3.2) to the root, and verify that the JWS (EdDSA, typ certeza-verification-batch+jws) signs {\"root\": that root, \"size\": batch.size}.",
                            "required": ["batch", "signature", "statement"],
                            "properties": {
                                "statement": { "type": "string", "description": "base64url of the receipt statement: JSON with the answer (fields, outcome, reason, verification_id), purpose, relying_party, request_id, time and the log entry (leaf_hash, origin, promised_by)" },
                                "batch": {
                                    "type": "object",
                                    "required": ["index", "path", "size"],
                                    "properties": {
                                        "index": { "type": "integer", "minimum": 0 },
                                        "size": { "type": "integer", "minimum": 1 },
                                        "path": { "type": "array", "items": { "type": "string", "description": "a 32-byte hash, base64url" } }
                                    }
                                },
                                "signature": { "type": "string", "description": "compact JWS over {\"root\", \"size\"} of the batch's tree" }
                            }
                        },
                        "log": {
                            "type": "object",
                            "properties": {
                                "leaf_hash": { "type": "string" },
                                "promised_by": { "type": "string", "format": "date-time" },
                                "proof": { "type": "string" }
                            }
                        }
                    }
                }
            }
        },
        "paths": {
            "/v1/verifications": { "post": {
                "summary": "Verify a presented credential",
                "security": [{ "apiKey": [] }, { "apiKey": [], "clientCertificate": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerificationRequest" } } } },
                "responses": verification_responses
            }},
            "/v1/verifications/{id}/proof": { "get": {
                "summary": "The log inclusion proof of a verification",
                "security": [{ "apiKey": [] }, { "apiKey": [], "clientCertificate": [] }],
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": proof_responses
            }},
            "/v1/verifications/key": { "get": {
                "summary": "The receipt verification key (JWK)",
                "responses": { "200": { "description": "An Ed25519 JWK.", "content": { "application/json": {} } } }
            }},
            "/log/checkpoint": { "get": {
                "summary": "The latest signed checkpoint (C2SP tlog-checkpoint)",
                "responses": { "200": { "description": "A signed note.", "content": { "text/plain": {} } } }
            }},
            "/log/tile/{path}": { "get": {
                "summary": "A C2SP tlog-tiles tile or entry bundle",
                "parameters": [{ "name": "path", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "Tile bytes.", "content": { "application/octet-stream": {} } } }
            }},
            "/v1/log/proof/{index}": { "get": {
                "summary": "A tlog-proof receipt for a log index",
                "parameters": [{ "name": "index", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }],
                "responses": { "200": { "description": "A receipt.", "content": { "text/plain": {} } } }
            }},
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "ok" } } } },
            "/readyz": { "get": { "summary": "Readiness (database reachable)", "responses": { "200": { "description": "ready" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Text exposition format." } } } }
        }
    })
}

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], axum::Json(openapi_document()))
}
