//! The citizen side: sign-in with CURP + CIC + a one-time code (until a
//! national single sign-on is plugged in), and `/mis-accesos`, the list of
//! every verification about the signed-in person, each checked in the
//! browser against the transparency log.
//!
//! Sign-in compares blind indexes only and answers a CURP that does not exist
//! exactly as a CIC that does not match. The code (6 digits, 5 minutes, 5
//! attempts) is bound to a random token kept in an HttpOnly cookie and stored
//! as SHA-256(token || code). Sessions are random 256-bit tokens, stored
//! hashed, 30 minutes. Forms are same-origin POSTs (the `Origin` header is
//! checked, cookies are `SameSite=Lax`) and, once signed in, carry a
//! per-session CSRF token. Nothing personal is logged.

use certeza_crypto::to_hex as hex;
use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use certeza_core::{Cic, Curp};
use certeza_store::log::LogStore;
use certeza_store::registry::index_field;
use certeza_store::{PersonId, PersonLookup};
use serde::Deserialize;

use crate::i18n::{Arg, t, t_args};
use crate::notifier::{Channel, Notifier, NotifyError, OutgoingMessage, mask_email, mask_phone};
use crate::pages::{escape_html, layout};
use crate::{AppError, AppState, constant_time_equal, problem_response, sha256};

/// How long a one-time code is accepted.
pub const CODE_TTL_MILLIS: u64 = 5 * 60 * 1000;
/// How many attempts one code allows.
pub const CODE_MAX_ATTEMPTS: u32 = 5;
/// How long a session lasts.
pub const SESSION_TTL_MILLIS: u64 = 30 * 60 * 1000;
/// The window of the per-person rate limit on code requests.
pub const REQUEST_WINDOW_MILLIS: u64 = 15 * 60 * 1000;
/// How many sign-in requests one CURP may make in the window.
pub const MAX_REQUESTS_PER_WINDOW: u64 = 5;

const SESSION_COOKIE: &str = "certeza_sesion";
const CHALLENGE_COOKIE: &str = "certeza_entrada";
const SCRIPT: &str = include_str!("../assets/mis-accesos.js");

/// What the citizen pages need beyond the rest of the state.
pub struct CitizenContext {
    /// Sends one-time codes.
    pub notifier: Arc<dyn Notifier>,
    /// Whether cookies carry `Secure` (set when the service is reached over TLS).
    pub secure_cookies: bool,
}

/// A signed-in session.
struct Session {
    token_sha256: [u8; 32],
    person_id: PersonId,
    csrf: String,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    certeza_crypto::os_random(&mut bytes).map_err(AppError::internal)?;
    Ok(bytes)
}

/// A uniformly random 6-digit code.
fn random_code() -> Result<String, AppError> {
    // 4,294,000,000 is the largest multiple of 10^6 below 2^32: rejecting
    // what lies above it keeps every code equally likely.
    loop {
        let value = u32::from_le_bytes(random_bytes::<4>()?);
        if value < 4_294_000_000 {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

fn code_digest(token: &[u8; 32], code: &str) -> [u8; 32] {
    let mut input = token.to_vec();
    input.extend_from_slice(code.as_bytes());
    sha256(&input)
}

fn csrf_token(session_token: &[u8; 32]) -> String {
    let mut input = b"certeza/csrf/v1\0".to_vec();
    input.extend_from_slice(session_token);
    hex(&sha256(&input))
}

/// The value of cookie `name` in the request, if any.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn token_from_cookie(headers: &HeaderMap, name: &str) -> Option<[u8; 32]> {
    let value = cookie(headers, name)?;
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    bytes.try_into().ok()
}

fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age_seconds: u64) -> HeaderValue {
    let secure = if state.citizen.secure_cookies { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A cross-site form post is refused: when the browser names the request's
/// origin, it must be this host. Every form handler of the server uses this.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|value| value.to_str().ok()) == Some("cross-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|value| value.to_str().ok()) else { return false };
    let Ok(origin) = origin.to_str() else { return false };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    origin_host == Some(host)
}

/// The answer to a cross-site form post (every form handler refuses them).
pub(crate) fn forbidden() -> Response {
    problem_response(StatusCode::FORBIDDEN, "Forbidden", Some("cross-site form posts are refused"))
}

/// A page with the security headers every form page carries: no caching, a
/// strict content security policy (images may be `data:` URLs, for the QR
/// previews), same-origin referrers and no MIME sniffing.
pub(crate) fn page_response(status: StatusCode, html: Html<String>) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; \
             base-uri 'none'; object-src 'none'",
        ),
    );
    // `same-origin`, not `no-referrer`: with the latter, browsers send
    // `Origin: null` on form posts and the origin check would refuse them.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, certeza_store::StoreError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work).await.map_err(AppError::internal)?.map_err(AppError::internal)
}

async fn current_session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
    let Some(token) = token_from_cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let token_sha256 = sha256(&token);
    let store = state.store.clone();
    let now = state.clock.now_unix_millis();
    let person = blocking(move || store.citizen_session(&token_sha256, now)).await?;
    Ok(person.map(|person_id| Session { token_sha256, person_id, csrf: csrf_token(&token) }))
}

// ---------------------------------------------------------------------------
// Sign-in: CURP + CIC.

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    curp: String,
    #[serde(default)]
    cic: String,
}

fn error_block(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!("<div class=\"error\" role=\"alert\" id=\"error\" tabindex=\"-1\"><p>{message}</p></div>\n")
    }
}

fn sign_in_page(state: &AppState, error: &str) -> Html<String> {
    let invalid = if error.is_empty() { "" } else { " aria-invalid=\"true\"" };
    let described = if error.is_empty() { "" } else { " error" };
    let demo = if state.demo { format!("<p class=\"aviso\">{}</p>\n", t("entrar-aviso-demo")) } else { String::new() };
    let main = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{demo}{error}\
         <form method=\"post\" action=\"/entrar\" class=\"formulario\">\n\
         <div class=\"campo\"><label for=\"curp\">{curp}</label>\
         <input id=\"curp\" name=\"curp\" type=\"text\" required maxlength=\"18\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" aria-describedby=\"curp-ayuda{described}\"{invalid}>\
         <p class=\"ayuda\" id=\"curp-ayuda\">{curp_help}</p></div>\n\
         <div class=\"campo\"><label for=\"cic\">{cic}</label>\
         <input id=\"cic\" name=\"cic\" type=\"text\" required maxlength=\"9\" inputmode=\"numeric\" \
         autocomplete=\"off\" aria-describedby=\"cic-ayuda{described}\"{invalid}>\
         <p class=\"ayuda\" id=\"cic-ayuda\">{cic_help}</p></div>\n\
         <button type=\"submit\">{send}</button>\n</form>\n<p class=\"nota\">{privacy}</p>",
        title = t("entrar-titulo"),
        intro = t("entrar-intro"),
        error = error_block(error),
        curp = t("entrar-curp"),
        curp_help = t("entrar-curp-ayuda"),
        cic = t("entrar-cic"),
        cic_help = t("entrar-cic-ayuda"),
        send = t("entrar-enviar"),
        privacy = t("entrar-privacidad"),
    );
    layout(&t("entrar-titulo"), &main)
}

pub(crate) async fn sign_in_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if current_session(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/mis-accesos").into_response());
    }
    Ok(page_response(StatusCode::OK, sign_in_page(&state, "")))
}

/// What a sign-in request led to.
enum SignInOutcome {
    Sent { token: [u8; 32] },
    NoMatch,
    RateLimited,
    NotifierUnavailable,
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Ok(forbidden());
    }
    let Ok(Form(form)) = form else {
        return Ok(page_response(StatusCode::BAD_REQUEST, sign_in_page(&state, &t("entrar-error-formato"))));
    };
    let curp = Curp::parse(&form.curp.trim().to_uppercase());
    let cic = Cic::parse(form.cic.trim());
    let (Ok(curp), Ok(cic)) = (curp, cic) else {
        return Ok(page_response(StatusCode::BAD_REQUEST, sign_in_page(&state, &t("entrar-error-formato"))));
    };
    let sealer = state.verification.sealer.clone();
    let store = state.store.clone();
    let notifier = state.citizen.notifier.clone();
    let now = state.clock.now_unix_millis();
    let outcome = tokio::task::spawn_blocking(move || -> Result<SignInOutcome, AppError> {
        let person_id = sealer.person_id(&curp);
        store.purge_citizen_rows(now, now.saturating_sub(REQUEST_WINDOW_MILLIS)).map_err(AppError::internal)?;
        let requests = store
            .record_sign_in_request(&person_id, now, now.saturating_sub(REQUEST_WINDOW_MILLIS))
            .map_err(AppError::internal)?;
        if requests > MAX_REQUESTS_PER_WINDOW {
            return Ok(SignInOutcome::RateLimited);
        }
        // The CIC's blind index is computed whether or not the person exists,
        // so both refusals cost the same.
        let presented_cic = sealer.index_of(index_field::CIC, cic.as_str());
        let found = store.registry().find_person(PersonLookup::Curp, &person_id).map_err(AppError::internal)?;
        let Some(sealed) = found.filter(|sealed| constant_time_equal(&sealed.indexes.cic, &presented_cic)) else {
            return Ok(SignInOutcome::NoMatch);
        };
        let person = sealer.open(&sealed).map_err(AppError::internal)?;
        let code = random_code()?;
        let token = random_bytes::<32>()?;
        store
            .add_sign_in_code(&certeza_store::citizen::NewSignInCode {
                token_sha256: sha256(&token),
                person_id,
                code_sha256: code_digest(&token, &code),
                created_at_ms: now,
                expires_at_ms: now + CODE_TTL_MILLIS,
            })
            .map_err(AppError::internal)?;
        let (channel, masked) = if person.phone.is_empty() {
            (Channel::Email, mask_email(&person.email))
        } else {
            (Channel::Sms, mask_phone(&person.phone))
        };
        let destination = if channel == Channel::Sms { person.phone.clone() } else { person.email.clone() };
        let message = OutgoingMessage {
            channel,
            destination,
            masked_destination: masked,
            body: crate::i18n::text_args("codigo-mensaje", &[("codigo", Arg::Text(&code))]),
        };
        match notifier.send(&message) {
            Ok(()) => Ok(SignInOutcome::Sent { token }),
            Err(NotifyError::NotConfigured) => Ok(SignInOutcome::NotifierUnavailable),
            Err(error) => {
                tracing::error!(%error, "a sign-in code could not be sent");
                Ok(SignInOutcome::NotifierUnavailable)
            }
        }
    })
    .await
    .map_err(AppError::internal)??;
    match outcome {
        SignInOutcome::Sent { token } => {
            tracing::info!("citizen sign-in code sent");
            let cookie =
                set_cookie(&state, CHALLENGE_COOKIE, &URL_SAFE_NO_PAD.encode(token), "/entrar", CODE_TTL_MILLIS / 1000);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/entrar/codigo")).into_response())
        }
        SignInOutcome::NoMatch => {
            tracing::info!("citizen sign-in refused: no matching person");
            Ok(page_response(StatusCode::BAD_REQUEST, sign_in_page(&state, &t("entrar-error-datos"))))
        }
        SignInOutcome::RateLimited => {
            tracing::warn!("citizen sign-in rate limit reached");
            let mut response =
                page_response(StatusCode::TOO_MANY_REQUESTS, sign_in_page(&state, &t("entrar-error-limite")));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(REQUEST_WINDOW_MILLIS / 1000));
            Ok(response)
        }
        SignInOutcome::NotifierUnavailable => {
            Ok(page_response(StatusCode::SERVICE_UNAVAILABLE, sign_in_page(&state, &t("entrar-error-envio"))))
        }
    }
}

// ---------------------------------------------------------------------------
// Sign-in: the one-time code.

/// The code form's field.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    codigo: String,
}

fn code_page(state: &AppState, error: &str, offer_new_code: bool) -> Html<String> {
    let invalid = if error.is_empty() { "" } else { " aria-invalid=\"true\"" };
    let described = if error.is_empty() { "" } else { " error" };
    let demo = if state.demo {
        format!("<p class=\"aviso\">{} <a href=\"/demo/buzon\">{}</a></p>\n", t("codigo-aviso-demo"), t("buzon-enlace"))
    } else {
        String::new()
    };
    let new_code = if offer_new_code {
        format!("<p><a href=\"/entrar\">{}</a></p>\n", t("codigo-pedir-otro"))
    } else {
        String::new()
    };
    let main = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{demo}{error}{new_code}\
         <form method=\"post\" action=\"/entrar/codigo\" class=\"formulario\">\n\
         <div class=\"campo\"><label for=\"codigo\">{label}</label>\
         <input id=\"codigo\" name=\"codigo\" type=\"text\" required maxlength=\"6\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" aria-describedby=\"codigo-ayuda{described}\"{invalid}>\
         <p class=\"ayuda\" id=\"codigo-ayuda\">{help}</p></div>\n\
         <button type=\"submit\">{send}</button>\n</form>",
        title = t("codigo-titulo"),
        intro = t("codigo-intro"),
        error = error_block(error),
        label = t("codigo-etiqueta"),
        help = t("codigo-ayuda"),
        send = t("codigo-enviar"),
    );
    layout(&t("codigo-titulo"), &main)
}

pub(crate) async fn code_form(State(state): State<AppState>) -> Response {
    page_response(StatusCode::OK, code_page(&state, "", false))
}

pub(crate) async fn submit_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Ok(forbidden());
    }
    let clear_challenge = set_cookie(&state, CHALLENGE_COOKIE, "", "/entrar", 0);
    let Some(token) = token_from_cookie(&headers, CHALLENGE_COOKIE) else {
        return Ok(page_response(StatusCode::BAD_REQUEST, code_page(&state, &t("codigo-error-vencido"), true)));
    };
    let code: String =
        form.map(|Form(form)| form.codigo).unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(page_response(StatusCode::BAD_REQUEST, code_page(&state, &t("codigo-error-formato"), false)));
    }
    let store = state.store.clone();
    let now = state.clock.now_unix_millis();
    let token_sha256 = sha256(&token);
    let attempt = blocking(move || store.attempt_sign_in_code(&token_sha256, now, CODE_MAX_ATTEMPTS)).await?;
    let Some(attempt) = attempt else {
        tracing::info!("citizen sign-in code refused: expired, used or out of attempts");
        let response = page_response(StatusCode::BAD_REQUEST, code_page(&state, &t("codigo-error-vencido"), true));
        return Ok(([(header::SET_COOKIE, clear_challenge)], response).into_response());
    };
    if !constant_time_equal(&code_digest(&token, &code), &attempt.code_sha256) {
        let remaining = CODE_MAX_ATTEMPTS.saturating_sub(attempt.attempts);
        tracing::info!(remaining, "citizen sign-in code refused: wrong code");
        if remaining == 0 {
            let response = page_response(StatusCode::BAD_REQUEST, code_page(&state, &t("codigo-error-vencido"), true));
            return Ok(([(header::SET_COOKIE, clear_challenge)], response).into_response());
        }
        let message = t_args("codigo-intentos-restantes", &[("n", Arg::Number(i64::from(remaining)))]);
        return Ok(page_response(StatusCode::BAD_REQUEST, code_page(&state, &message, false)));
    }
    let session_token = random_bytes::<32>()?;
    let session_sha256 = sha256(&session_token);
    let store = state.store.clone();
    let person_id = attempt.person_id;
    let opened = blocking(move || {
        store.use_sign_in_code(&token_sha256, &person_id, &session_sha256, now, now + SESSION_TTL_MILLIS)
    })
    .await?;
    if !opened {
        let response = page_response(StatusCode::BAD_REQUEST, code_page(&state, &t("codigo-error-vencido"), true));
        return Ok(([(header::SET_COOKIE, clear_challenge)], response).into_response());
    }
    tracing::info!("citizen signed in");
    let session_cookie =
        set_cookie(&state, SESSION_COOKIE, &URL_SAFE_NO_PAD.encode(session_token), "/", SESSION_TTL_MILLIS / 1000);
    Ok((
        axum::response::AppendHeaders([(header::SET_COOKIE, clear_challenge), (header::SET_COOKIE, session_cookie)]),
        Redirect::to("/mis-accesos"),
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Sign-out.

/// The sign-out form's field.
#[derive(Debug, Deserialize)]
pub(crate) struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

fn sign_out_form(session: &Session) -> String {
    format!(
        "<form method=\"post\" action=\"/salir\" class=\"salir\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" class=\"secundario\">{label}</button></form>",
        csrf = escape_html(&session.csrf),
        label = t("salir-boton"),
    )
}

pub(crate) async fn sign_out_page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = current_session(&state, &headers).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    let main = format!("<h1>{}</h1>\n<p>{}</p>\n{}", t("salir-titulo"), t("salir-pregunta"), sign_out_form(&session));
    Ok(page_response(StatusCode::OK, layout(&t("salir-titulo"), &main)))
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Ok(forbidden());
    }
    let Some(session) = current_session(&state, &headers).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    let presented = form.map(|Form(form)| form.csrf).unwrap_or_default();
    if !constant_time_equal(presented.as_bytes(), session.csrf.as_bytes()) {
        return Ok(problem_response(
            StatusCode::FORBIDDEN,
            "Forbidden",
            Some("the form's CSRF token is missing or wrong"),
        ));
    }
    let store = state.store.clone();
    let token_sha256 = session.token_sha256;
    blocking(move || store.end_citizen_session(&token_sha256)).await?;
    tracing::info!("citizen signed out");
    let cleared = set_cookie(&state, SESSION_COOKIE, "", "/", 0);
    Ok(([(header::SET_COOKIE, cleared)], Redirect::to("/")).into_response())
}

// ---------------------------------------------------------------------------
// Mis accesos.

/// Milliseconds at which central Mexico stopped observing daylight saving
/// time (2022-10-30 07:00 UTC); from then on America/Mexico_City is UTC−6
/// all year. Earlier times are shown in UTC, labelled so.
const MEXICO_CITY_FIXED_OFFSET_SINCE_MS: u64 = 1_667_113_200_000;

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A time as citizens read it: central Mexico time when the zone has a fixed
/// offset, UTC before that; the label says which.
pub(crate) fn format_local_time(unix_millis: u64) -> String {
    let (offset_seconds, zone) = if unix_millis >= MEXICO_CITY_FIXED_OFFSET_SINCE_MS {
        (-6 * 3600, t("hora-centro"))
    } else {
        (0, t("hora-utc"))
    };
    let seconds = i64::try_from(unix_millis / 1000).unwrap_or(i64::MAX / 2) + offset_seconds;
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    let month_name = t(&format!("mes-{month}"));
    format!(
        "{day} {de} {month_name} {de} {year}, {hour:02}:{minute:02} ({zone})",
        de = t("fecha-de"),
        hour = second_of_day / 3600,
        minute = second_of_day % 3600 / 60,
    )
}

fn outcome_text(outcome: &str, reason: Option<&str>) -> String {
    match (outcome, reason) {
        ("valid", _) => t("resultado-valido"),
        (_, Some(reason)) => match reason {
            "not_found" | "mismatch" | "reported_lost" | "reported_stolen" | "expired" | "replaced" | "cancelled" => {
                t(&format!("resultado-{}", reason.replace('_', "-")))
            }
            _ => t("resultado-invalido"),
        },
        _ => t("resultado-invalido"),
    }
}

pub(crate) async fn my_accesses(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = current_session(&state, &headers).await? else {
        return Ok(Redirect::to("/entrar").into_response());
    };
    let store = state.store.clone();
    let person_id = session.person_id;
    let listings = blocking(move || store.verifications_for_person(&person_id)).await?;
    let mut rows = String::new();
    for listing in &listings {
        rows.push_str(&format!(
            "<li class=\"acceso\" data-id=\"{id}\">\n<h3>{institution}</h3>\n<dl>\
             <dt>{when_label}</dt><dd>{when}</dd>\
             <dt>{purpose_label}</dt><dd>{purpose}</dd>\
             <dt>{outcome_label}</dt><dd>{outcome}</dd></dl>\n\
             <p class=\"estado\" data-estado=\"comprobando\">{checking}</p>\n</li>\n",
            id = escape_html(&listing.id),
            institution = escape_html(&listing.relying_party_name),
            when_label = t("accesos-cuando"),
            when = format_local_time(listing.created_at_ms),
            purpose_label = t("accesos-proposito"),
            purpose = escape_html(&listing.purpose),
            outcome_label = t("accesos-resultado"),
            outcome = outcome_text(&listing.outcome, listing.reason.as_deref()),
            checking = t("estado-comprobando"),
        ));
    }
    let list = if listings.is_empty() {
        format!("<p>{}</p>", t("accesos-ninguno"))
    } else {
        // The browser-side check reads its messages from these attributes, so
        // they come from the catalogue like every other text.
        format!(
            "<p id=\"resumen\" role=\"status\" aria-live=\"polite\">{checking}</p>\n\
             <ol class=\"accesos\" id=\"accesos\" data-msg-verificado=\"{ok}\" data-msg-pendiente=\"{pending}\" \
             data-msg-fallo=\"{failed}\" data-msg-resumen=\"{summary}\" data-msg-sin-soporte=\"{unsupported}\">\n\
             {rows}</ol>\n<noscript><p>{noscript}</p></noscript>\n\
             <script src=\"/assets/mis-accesos.js\" defer></script>",
            checking = t("estado-comprobando"),
            ok = t("estado-verificado"),
            pending = t("estado-pendiente"),
            failed = t("estado-fallo"),
            summary = t("accesos-resumen"),
            unsupported = t("estado-sin-soporte"),
            noscript = t("accesos-sin-javascript"),
        )
    };
    let main = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{list}\n<h2>{how_title}</h2>\n<p>{how}</p>\n\
         <p><a href=\"/mis-accesos.json\">{json}</a> · <a href=\"/log/checkpoint\">{checkpoint}</a></p>\n{sign_out}",
        title = t("accesos-titulo"),
        intro = t("accesos-intro"),
        how_title = t("accesos-como-titulo"),
        how = t("accesos-como"),
        json = t("accesos-json"),
        checkpoint = t("accesos-checkpoint"),
        sign_out = sign_out_form(&session),
    );
    Ok(page_response(StatusCode::OK, layout(&t("accesos-titulo"), &main)))
}

pub(crate) async fn my_accesses_json(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(session) = current_session(&state, &headers).await? else {
        return Ok(problem_response(StatusCode::UNAUTHORIZED, "Unauthorized", Some("sign in at /entrar first")));
    };
    let store = state.store.clone();
    let person_id = session.person_id;
    let entries = blocking(move || {
        let listings = store.verifications_for_person(&person_id)?;
        let log = LogStore::new(&store);
        let mut entries = Vec::with_capacity(listings.len());
        for listing in listings {
            let receipt = log.receipt_for_pending(listing.log_pending_id)?;
            let (entry, receipt_text) = match receipt {
                Some(receipt) => {
                    let entry = receipt.extra.as_ref().map(|bytes| STANDARD.encode(bytes));
                    (entry, receipt.encode().ok())
                }
                None => (None, None),
            };
            entries.push(serde_json::json!({
                "id": listing.id,
                "relying_party": listing.relying_party_name,
                "purpose": listing.purpose,
                "outcome": listing.outcome,
                "reason": listing.reason,
                "time_unix_ms": listing.created_at_ms,
                "subject_salt": hex(&listing.subject_salt),
                "entry": entry,
                "receipt": receipt_text,
            }));
        }
        Ok(entries)
    })
    .await?;
    let body = serde_json::json!({
        "person_id": hex(&session.person_id),
        "log": { "origin": state.log.origin, "verifier_key": state.log.verifier_key },
        "entries": entries,
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], SCRIPT)
}

// ---------------------------------------------------------------------------
// The demo outbox.

/// Routes that exist only in the demo.
pub(crate) fn demo_routes(demo: bool) -> axum::Router<AppState> {
    let router = axum::Router::new();
    if demo { router.route("/demo/buzon", axum::routing::get(outbox)) } else { router }
}

async fn outbox(State(state): State<AppState>) -> Result<Response, AppError> {
    let store = state.store.clone();
    let messages = blocking(move || store.outbox_messages(20)).await?;
    let mut items = String::new();
    for message in &messages {
        let channel = if message.channel == "sms" { t("buzon-sms") } else { t("buzon-correo") };
        items.push_str(&format!(
            "<li class=\"mensaje\"><p class=\"meta\">{when} · {channel} · {destination}</p><p class=\"cuerpo\">{body}</p></li>\n",
            when = format_local_time(message.created_at_ms),
            destination = escape_html(&message.destination),
            body = escape_html(&message.body),
        ));
    }
    let list = if messages.is_empty() {
        format!("<p>{}</p>", t("buzon-vacio"))
    } else {
        format!("<ol class=\"buzon\">\n{items}</ol>")
    };
    let main = format!("<h1>{}</h1>\n<p class=\"aviso\">{}</p>\n{list}", t("buzon-titulo"), t("buzon-intro"));
    Ok(page_response(StatusCode::OK, layout(&t("buzon-titulo"), &main)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_local_time() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2023-11-14 22:13:20 UTC is 16:13 in central Mexico.
        let shown = format_local_time(1_700_000_000_000);
        assert!(shown.starts_with("14 de noviembre de 2023, 16:13"), "{shown}");
        assert!(shown.contains("centro de México"), "{shown}");
        // Before the fixed offset, UTC and a label saying so.
        assert!(format_local_time(0).contains("UTC"));
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = random_code().unwrap_or_default();
            assert!(code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; certeza_sesion=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
    }
}
