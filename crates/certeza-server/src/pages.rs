//! Server-rendered pages (Spanish, es-MX) and their embedded assets.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use crate::{AppError, AppState};

const STYLESHEET: &str = include_str!("../assets/certeza.css");

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Wraps page content in the common layout.
pub(crate) fn layout(title: &str, main: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"es-MX\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Certeza</title>\n<link rel=\"stylesheet\" href=\"/assets/certeza.css\">\n</head>\n<body>\n\
         <header><a class=\"brand\" href=\"/\">Certeza</a></header>\n<main id=\"contenido\">\n{main}\n</main>\n\
         <footer><p>Certeza · infraestructura abierta de confianza digital</p></footer>\n</body>\n</html>\n",
        title = escape_html(title),
    ))
}

pub(crate) async fn landing(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let store = state.store.clone();
    let people = tokio::task::spawn_blocking(move || store.registry().count_people())
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let demo_notice = if state.demo {
        "<p class=\"aviso\">Modo de demostración: todas las personas del registro son ficticias.</p>"
    } else {
        ""
    };
    let main = format!(
        "<h1>Certeza</h1>\n{demo_notice}\n\
         <p>Certeza permite comprobar que una credencial de identidad es auténtica sin entregar la base de datos, \
         y demostrar a cada persona que nadie tocó sus datos sin dejar rastro.</p>\n\
         <section aria-labelledby=\"registro\">\n<h2 id=\"registro\">Registro cifrado</h2>\n\
         <p>El registro contiene <strong>{people}</strong> personas. Cada dato personal está cifrado \
         (AES-256-GCM) y las búsquedas usan índices ciegos (HMAC-SHA-256): un volcado de la base de datos \
         no muestra ningún nombre, CURP ni número de credencial.</p>\n</section>\n\
         <section aria-labelledby=\"operacion\">\n<h2 id=\"operacion\">Operación</h2>\n<ul>\n\
         <li><a href=\"/healthz\">/healthz</a>: el servicio está en marcha.</li>\n\
         <li><a href=\"/readyz\">/readyz</a>: el servicio y su base de datos están listos.</li>\n\
         </ul>\n</section>"
    );
    Ok(layout("Inicio", &main))
}

pub(crate) async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
}
