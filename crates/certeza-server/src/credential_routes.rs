//! QR credentials over HTTP: the published trust list and status list, the
//! authenticated issuer endpoint `POST /v1/credentials`, the verifier page
//! `/verificar` (camera photo, file or pasted code; the answer in plain Spanish) and
//! `/confirmar-recepcion`, where a voter abroad confirms that the new credential
//! arrived.
//!
//! Photos travel as a `data:` URL in a form field, filled by a few lines of plain
//! JavaScript (`/assets/verificar.js`), so no multipart parser is needed; those two
//! routes accept bodies up to [`MAX_PHOTO_BODY_BYTES`]. The trust list and status
//! list are re-read from the data directory on every request (they are small), so a
//! revocation or key rotation by the CLI shows at once. Log entries carry only the
//! random token id and the kid, hashed; never a CURP.

use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use certeza_core::Curp;
use certeza_credential::{DocumentType, FieldValue, Format, Reason, Verdict};
use certeza_log::entry::LogEntry;
use certeza_store::PersonLookup;
use certeza_store::log::LogStore;
use serde::Deserialize;

use crate::credentials::{CredentialAuthority, CredentialError, Receipt};
use crate::i18n::{Arg, t, t_args};
use crate::pages::{escape_html, layout};
use crate::{AppError, AppState, problem_response, sha256};

/// The largest body `/verificar` and `/confirmar-recepcion` accept (a phone photo
/// as a base64 data URL).
pub const MAX_PHOTO_BODY_BYTES: usize = 8 * 1024 * 1024;

const SCRIPT: &str = include_str!("../assets/verificar.js");

/// What the credential routes need.
pub struct CredentialContext {
    /// The data directory's credential authority.
    pub authority: CredentialAuthority,
    /// SHA-256 of the bearer token of `POST /v1/credentials`; `None` disables it.
    pub issuer_token_sha256: Option<[u8; 32]>,
}

impl CredentialContext {
    /// The context of a data directory. An empty token disables issuance over HTTP.
    pub fn new(authority: CredentialAuthority, issuer_token: &str) -> Self {
        let issuer_token_sha256 = if issuer_token.is_empty() { None } else { Some(sha256(issuer_token.as_bytes())) };
        Self { authority, issuer_token_sha256 }
    }
}

fn now_seconds(state: &AppState) -> i64 {
    i64::try_from(state.clock.now_unix_millis() / 1000).unwrap_or(i64::MAX)
}

fn signed_file(bytes: Vec<u8>, content_type: &'static str, max_age: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(max_age)),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        ],
        bytes,
    )
        .into_response()
}

async fn read_published(
    state: &AppState,
    read: fn(&CredentialAuthority) -> Result<Vec<u8>, CredentialError>,
) -> Result<Vec<u8>, AppError> {
    let context = state.credentials.clone();
    let now = now_seconds(state);
    tokio::task::spawn_blocking(move || {
        context.authority.ensure(now)?;
        read(&context.authority)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// `GET /credentials/trust-list`: the signed trust list (COSE_Sign1).
pub(crate) async fn trust_list(State(state): State<AppState>) -> Result<Response, AppError> {
    let bytes = read_published(&state, CredentialAuthority::trust_list_bytes).await?;
    Ok(signed_file(bytes, "application/cose; cose-type=\"cose-sign1\"", "public, max-age=300"))
}

/// `GET /credentials/status`: the signed status list (IETF Token Status List, CWT).
pub(crate) async fn status_list(State(state): State<AppState>) -> Result<Response, AppError> {
    let bytes = read_published(&state, CredentialAuthority::status_list_bytes).await?;
    Ok(signed_file(bytes, "application/statuslist+cwt", "public, max-age=60"))
}

/// `GET /credentials/trust-root`: the trust list's root public key (Ed25519, hex).
pub(crate) async fn trust_root(State(state): State<AppState>) -> Result<Response, AppError> {
    let bytes = read_published(&state, |authority| {
        std::fs::read(authority.trust_root_path())
            .map_err(|source| CredentialError::Io { path: "trust-root.pub".to_owned(), source })
    })
    .await?;
    Ok(signed_file(bytes, "text/plain; charset=utf-8", "public, max-age=3600"))
}

pub(crate) async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], SCRIPT)
}

/// Queues a log entry about a credential: the details are a hash of the token id
/// and kid (random and public values), never personal data.
async fn log_credential_event(state: &AppState, kind: &str, purpose: &str, details: String) -> Result<(), AppError> {
    let now = state.clock.now_unix_millis();
    let entry = LogEntry {
        v: 1,
        kind: kind.to_owned(),
        time_unix_millis: now,
        actor: "certeza".to_owned(),
        purpose: purpose.to_owned(),
        subject_commitment: None,
        details_hash: Some(sha256(details.as_bytes())),
    };
    let bytes = entry.encode().map_err(AppError::internal)?;
    let store = state.store.clone();
    let merge_delay = state.verification.max_merge_delay_millis;
    tokio::task::spawn_blocking(move || LogStore::new(&store).enqueue(&bytes, now, merge_delay))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// POST /v1/credentials

/// The body of `POST /v1/credentials`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueRequest {
    curp: String,
    #[serde(default, rename = "type")]
    doc_type: Option<String>,
}

/// `POST /v1/credentials`: issues a credential for a person of the registry.
pub(crate) async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<IssueRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let Some(expected) = state.credentials.issuer_token_sha256 else { return Err(AppError::NotFound) };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    if !crate::constant_time_equal(&sha256(presented.as_bytes()), &expected) {
        return Err(AppError::Unauthorized);
    }
    let Json(request) = body.map_err(AppError::from_json_rejection)?;
    let doc_type = match request.doc_type.as_deref().unwrap_or("cpv") {
        "cpv" => DocumentType::Cpv,
        "constancia" => DocumentType::Constancia,
        _ => return Err(AppError::BadRequest("type must be cpv or constancia".to_owned())),
    };
    let curp =
        Curp::parse(request.curp.trim()).map_err(|_| AppError::BadRequest("curp is not a valid CURP".to_owned()))?;
    let sealer = state.verification.sealer.clone();
    let store = state.store.clone();
    let context = state.credentials.clone();
    let now = now_seconds(&state);
    let issued = tokio::task::spawn_blocking(move || -> Result<Option<crate::credentials::Issued>, AppError> {
        let Some(sealed) =
            store.registry().find_person(PersonLookup::Curp, &sealer.person_id(&curp)).map_err(AppError::internal)?
        else {
            return Ok(None);
        };
        let person = sealer.open(&sealed).map_err(AppError::internal)?;
        if doc_type == DocumentType::Cpv && !person.status.is_vigente() {
            return Err(AppError::Unprocessable(
                "the person's voter credential is not vigente; no cpv credential is issued".to_owned(),
            ));
        }
        context.authority.issue(&person, doc_type, now).map(Some).map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)??;
    let Some(issued) = issued else {
        return Ok(problem_response(
            StatusCode::NOT_FOUND,
            "Not Found",
            Some("no person with that CURP is in the registry"),
        ));
    };
    log_credential_event(&state, "credential.issued", "credential-issuance", format!("{}:{}", issued.cti, issued.kid))
        .await?;
    let body = serde_json::json!({
        "code": issued.code,
        "kid": issued.kid,
        "cti": issued.cti,
        "status_index": issued.status_index,
        "iat": issued.issued_at,
        "exp": issued.expires_at,
        "trust_list": "/credentials/trust-list",
        "status_list": "/credentials/status",
    });
    let mut response = (StatusCode::CREATED, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

// ---------------------------------------------------------------------------
// Pages.

/// The verifier and receipt forms' fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    codigo: String,
    #[serde(default)]
    foto: String,
    #[serde(default)]
    curp: String,
}

/// Why no code could be read from the form.
enum Input {
    Code(String),
    Empty,
    NoQr,
}

/// The code from the pasted text or, failing that, from the photo (a data URL).
fn read_input(form: &CodeForm) -> Input {
    let pasted = form.codigo.trim();
    if !pasted.is_empty() {
        return Input::Code(pasted.to_owned());
    }
    let photo = form.foto.trim();
    if photo.is_empty() {
        return Input::Empty;
    }
    let encoded = photo.split_once(',').map_or(photo, |(_, data)| data);
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return Input::NoQr };
    match certeza_credential::qr::decode_image(&bytes) {
        Ok(text) => Input::Code(text),
        Err(_) => Input::NoQr,
    }
}

fn code_fields(with_curp: bool) -> String {
    let curp = if with_curp {
        format!(
            "<div class=\"campo\"><label for=\"curp\">{label}</label>\
             <input id=\"curp\" name=\"curp\" type=\"text\" required maxlength=\"18\" autocomplete=\"off\" \
             autocapitalize=\"characters\" spellcheck=\"false\" aria-describedby=\"curp-ayuda\">\
             <p class=\"ayuda\" id=\"curp-ayuda\">{help}</p></div>\n",
            label = t("recepcion-curp"),
            help = t("recepcion-curp-ayuda"),
        )
    } else {
        String::new()
    };
    format!(
        "<div class=\"campo\"><label for=\"foto-archivo\">{photo}</label>\
         <input id=\"foto-archivo\" type=\"file\" accept=\"image/*\" capture=\"environment\" \
         aria-describedby=\"foto-ayuda\"><p class=\"ayuda\" id=\"foto-ayuda\">{photo_help}</p>\
         <input type=\"hidden\" id=\"foto\" name=\"foto\"></div>\n\
         <div class=\"campo\"><label for=\"codigo\">{code}</label>\
         <textarea id=\"codigo\" name=\"codigo\" rows=\"4\" spellcheck=\"false\" autocomplete=\"off\" \
         aria-describedby=\"codigo-ayuda\"></textarea>\
         <p class=\"ayuda\" id=\"codigo-ayuda\">{code_help}</p></div>\n{curp}",
        photo = t("verificar-foto"),
        photo_help = t("verificar-foto-ayuda"),
        code = t("verificar-codigo"),
        code_help = t("verificar-codigo-ayuda"),
    )
}

fn verify_form() -> String {
    format!(
        "<form method=\"post\" action=\"/verificar\" class=\"formulario\" id=\"formulario-credencial\">\n{fields}\
         <button type=\"submit\">{send}</button>\n</form>\n\
         <script src=\"/assets/verificar.js\" defer></script>",
        fields = code_fields(false),
        send = t("verificar-enviar"),
    )
}

fn verify_page(result: &str) -> Html<String> {
    let main = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{result}{form}\n<p class=\"nota\">{privacy}</p>",
        title = t("verificar-titulo"),
        intro = t("verificar-intro"),
        form = verify_form(),
        privacy = t("verificar-privacidad"),
    );
    layout(&t("verificar-titulo"), &main)
}

/// `GET /verificar`.
pub(crate) async fn verify_form_page() -> Response {
    crate::citizen::page_response(StatusCode::OK, verify_page(""))
}

fn date(seconds: i64) -> String {
    crate::citizen::format_local_time(u64::try_from(seconds).unwrap_or(0).saturating_mul(1000))
}

fn field_label(name: &str) -> String {
    match name {
        "nombre" | "curp" | "clave_elector" | "emision" | "sexo" | "nacimiento" | "asunto" => {
            t(&format!("campo-{}", name.replace('_', "-")))
        }
        other => escape_html(other),
    }
}

fn field_value(value: &FieldValue) -> String {
    match value {
        FieldValue::Text(text) => escape_html(text),
        FieldValue::Integer(number) => number.to_string(),
        FieldValue::Bool(true) => t("campo-si"),
        FieldValue::Bool(false) => t("campo-no"),
        FieldValue::Bytes(bytes) => escape_html(&certeza_credential::hex(bytes)),
    }
}

fn document_name(verdict: &Verdict) -> String {
    if verdict.format == Some(Format::EuDcc) {
        return t("documento-dcc");
    }
    match verdict.doc_type.as_deref() {
        Some(kind @ ("cpv" | "constancia" | "cita")) => t(&format!("documento-{kind}")),
        _ => t("documento-otro"),
    }
}

fn reason_sentence(reason: Reason, verdict: &Verdict) -> String {
    match reason {
        Reason::Expired => t_args("razon-expired", &[("fecha", Arg::Text(&date(verdict.expires_at.unwrap_or(0))))]),
        other => t(&format!("razon-{}", other.as_str().replace('_', "-"))),
    }
}

/// The result block: valid or not, why, who issued it and what it says.
fn verdict_block(verdict: &Verdict) -> String {
    let issuer = verdict.issuer.clone().unwrap_or_else(|| t("emisor-desconocido"));
    let mut details = String::new();
    if verdict.valid || matches!(verdict.reason, Some(Reason::Expired | Reason::Revoked | Reason::NotYetValid)) {
        details.push_str(&format!(
            "<dl class=\"datos\">\n<dt>{doc_label}</dt><dd>{doc}</dd>\n<dt>{issuer_label}</dt><dd>{issuer}</dd>\n",
            doc_label = t("resultado-documento"),
            doc = document_name(verdict),
            issuer_label = t("resultado-emisor"),
            issuer = escape_html(&issuer),
        ));
        if let Some(iat) = verdict.issued_at {
            details.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", t("resultado-emitida"), date(iat)));
        }
        if let Some(exp) = verdict.expires_at {
            details.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", t("resultado-vence"), date(exp)));
        }
        for (name, value) in &verdict.fields {
            details.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", field_label(name), field_value(value)));
        }
        if let Some(dcc) = &verdict.dcc {
            let name = format!(
                "{} {}",
                dcc["nam"]["gn"].as_str().unwrap_or_default(),
                dcc["nam"]["fn"].as_str().unwrap_or_default()
            );
            details.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n",
                t("campo-nombre"),
                escape_html(name.trim()),
                t("campo-nacimiento"),
                escape_html(dcc["dob"].as_str().unwrap_or_default()),
            ));
        }
        details.push_str("</dl>\n");
    }
    match verdict.reason {
        None => format!(
            "<section class=\"resultado estado-verificado\" role=\"status\" id=\"resultado\" data-resultado=\"valida\">\
             <h2>{heading}</h2>\n<p>{sentence}</p>\n{details}</section>\n",
            heading = t("resultado-valida"),
            sentence = t_args("resultado-valida-texto", &[("emisor", Arg::Text(&issuer))]),
        ),
        Some(reason) => format!(
            "<section class=\"resultado error\" role=\"alert\" id=\"resultado\" data-resultado=\"{code}\">\
             <h2>{heading}</h2>\n<p>{sentence}</p>\n{details}</section>\n",
            code = reason.as_str(),
            heading = t("resultado-no-valida"),
            sentence = reason_sentence(reason, verdict),
        ),
    }
}

fn input_problem(message_id: &str) -> String {
    format!(
        "<section class=\"resultado error\" role=\"alert\" id=\"resultado\" data-resultado=\"sin-codigo\">\
         <h2>{}</h2>\n<p>{}</p></section>\n",
        t("resultado-no-leida"),
        t(message_id)
    )
}

/// Verifies the form's code (or photo) with the data directory's lists.
async fn verify_input(state: &AppState, form: CodeForm) -> Result<Result<Verdict, &'static str>, AppError> {
    let context = state.credentials.clone();
    let now = now_seconds(state);
    tokio::task::spawn_blocking(move || -> Result<Result<Verdict, &'static str>, AppError> {
        let code = match read_input(&form) {
            Input::Code(code) => code,
            Input::Empty => return Ok(Err("verificar-sin-entrada")),
            Input::NoQr => return Ok(Err("verificar-sin-qr")),
        };
        context.authority.ensure(now).map_err(AppError::internal)?;
        context.authority.verify(&code, now, now).map(Ok).map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// `POST /verificar`: the result in plain Spanish above the form.
pub(crate) async fn verify_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, AppError> {
    if !crate::citizen::same_origin(&headers) {
        return Ok(crate::citizen::forbidden());
    }
    let Ok(Form(form)) = form else {
        return Ok(crate::citizen::page_response(
            StatusCode::BAD_REQUEST,
            verify_page(&input_problem("verificar-sin-entrada")),
        ));
    };
    let block = match verify_input(&state, form).await? {
        Ok(verdict) => verdict_block(&verdict),
        Err(message) => input_problem(message),
    };
    Ok(crate::citizen::page_response(StatusCode::OK, verify_page(&block)))
}

fn receipt_page(result: &str) -> Html<String> {
    let main = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{result}\
         <form method=\"post\" action=\"/confirmar-recepcion\" class=\"formulario\" id=\"formulario-credencial\">\n\
         {fields}<button type=\"submit\">{send}</button>\n</form>\n\
         <script src=\"/assets/verificar.js\" defer></script>\n<p class=\"nota\">{privacy}</p>",
        title = t("recepcion-titulo"),
        intro = t("recepcion-intro"),
        fields = code_fields(true),
        send = t("recepcion-enviar"),
        privacy = t("verificar-privacidad"),
    );
    layout(&t("recepcion-titulo"), &main)
}

/// `GET /confirmar-recepcion`.
pub(crate) async fn receipt_form_page() -> Response {
    crate::citizen::page_response(StatusCode::OK, receipt_page(""))
}

fn receipt_block(message_id: &str, ok: bool) -> String {
    if ok {
        format!(
            "<section class=\"resultado estado-verificado\" role=\"status\" id=\"resultado\" \
             data-resultado=\"recibida\"><p>{}</p></section>\n",
            t(message_id)
        )
    } else {
        format!(
            "<section class=\"resultado error\" role=\"alert\" id=\"resultado\" data-resultado=\"no-recibida\">\
             <p>{}</p></section>\n",
            t(message_id)
        )
    }
}

/// `POST /confirmar-recepcion`: a valid credential whose CURP matches is marked
/// received (and the log records it, without personal data).
pub(crate) async fn receipt_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, AppError> {
    if !crate::citizen::same_origin(&headers) {
        return Ok(crate::citizen::forbidden());
    }
    let Ok(Form(form)) = form else {
        return Ok(crate::citizen::page_response(
            StatusCode::BAD_REQUEST,
            receipt_page(&input_problem("verificar-sin-entrada")),
        ));
    };
    let Ok(curp) = Curp::parse(&form.curp.trim().to_uppercase()) else {
        return Ok(crate::citizen::page_response(
            StatusCode::BAD_REQUEST,
            receipt_page(&receipt_block("recepcion-curp-invalida", false)),
        ));
    };
    let verdict = match verify_input(&state, form).await? {
        Ok(verdict) => verdict,
        Err(message) => {
            return Ok(crate::citizen::page_response(StatusCode::OK, receipt_page(&input_problem(message))));
        }
    };
    if !verdict.valid || verdict.format != Some(Format::Certeza) {
        return Ok(crate::citizen::page_response(StatusCode::OK, receipt_page(&verdict_block(&verdict))));
    }
    let context = state.credentials.clone();
    let checked = verdict.clone();
    let curp_text = curp.as_str().to_owned();
    let outcome = tokio::task::spawn_blocking(move || context.authority.confirm_receipt(&checked, &curp_text))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let block = match outcome {
        Receipt::Confirmed => {
            let cti = certeza_credential::decode(&verdict.code)
                .ok()
                .and_then(|d| d.cti)
                .map(|cti| certeza_credential::hex(&cti))
                .unwrap_or_default();
            log_credential_event(
                &state,
                "credential.received",
                "credential-delivery",
                format!("{cti}:{}", verdict.kid.as_deref().unwrap_or_default()),
            )
            .await?;
            receipt_block("recepcion-confirmada", true)
        }
        Receipt::AlreadyConfirmed => receipt_block("recepcion-ya-confirmada", true),
        Receipt::CurpMismatch => receipt_block("recepcion-no-coincide", false),
    };
    Ok(crate::citizen::page_response(StatusCode::OK, receipt_page(&block)))
}

/// The credential routes, with the larger body limit on the two photo forms.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    let photo_limit = axum::extract::DefaultBodyLimit::max(MAX_PHOTO_BODY_BYTES);
    axum::Router::new()
        .route("/credentials/trust-list", get(trust_list))
        .route("/credentials/status", get(status_list))
        .route("/credentials/trust-root", get(trust_root))
        .route("/assets/verificar.js", get(script))
        .route("/v1/credentials", post(issue))
        .route("/verificar", get(verify_form_page).post(verify_submit).layer(photo_limit))
        .route("/confirmar-recepcion", get(receipt_form_page).post(receipt_submit).layer(photo_limit))
}

/// An `Arc` for [`AppState::credentials`].
pub fn context(authority: CredentialAuthority, issuer_token: &str) -> Arc<CredentialContext> {
    Arc::new(CredentialContext::new(authority, issuer_token))
}
