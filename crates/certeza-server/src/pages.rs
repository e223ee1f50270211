//! Server-rendered pages (Spanish, es-MX) and their embedded assets.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use crate::i18n::{Arg, t, t_args};
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

/// Wraps page content in the common layout: the language, a skip link, the
/// navigation to each capability, and the footer.
pub(crate) fn layout(title: &str, main: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"{language}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Certeza</title>\n<link rel=\"stylesheet\" href=\"/assets/certeza.css\">\n\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n</head>\n<body>\n\
         <a class=\"saltar\" href=\"#contenido\">{skip}</a>\n\
         <header>\n<a class=\"brand\" href=\"/\">{brand}</a>\n\
         <nav aria-label=\"{nav_label}\"><ul>\
         <li><a href=\"/\">{home}</a></li>\
         <li><a href=\"/#instituciones\">{institutions}</a></li>\
         <li><a href=\"/mis-accesos\">{accesses}</a></li>\
         <li><a href=\"/log/checkpoint\">{log}</a></li>\
         </ul></nav>\n</header>\n<main id=\"contenido\" tabindex=\"-1\">\n{main}\n</main>\n\
         <footer><p>{footer}</p><p>{footer_data}</p></footer>\n</body>\n</html>\n",
        language = crate::i18n::LANGUAGE,
        title = escape_html(title),
        skip = t("saltar-contenido"),
        brand = t("marca"),
        nav_label = t("nav-etiqueta"),
        home = t("nav-inicio"),
        institutions = t("nav-instituciones"),
        accesses = t("nav-mis-accesos"),
        log = t("nav-log"),
        footer = t("pie"),
        footer_data = t("pie-datos"),
    ))
}

pub(crate) async fn landing(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let store = state.store.clone();
    let people = tokio::task::spawn_blocking(move || store.registry().count_people())
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let demo_notice =
        if state.demo { format!("<p class=\"aviso\">{}</p>\n", t("inicio-aviso-demo")) } else { String::new() };
    let people = i64::try_from(people).unwrap_or(i64::MAX);
    let main = format!(
        "<h1>{heading}</h1>\n{demo_notice}<p class=\"intro\">{intro}</p>\n\
         <h2 class=\"visually-hidden\">{capabilities}</h2>\n<div class=\"capacidades\">\n\
         <section class=\"capacidad\" aria-labelledby=\"registro\">\n<h2 id=\"registro\">{registry_title}</h2>\n\
         <p>{registry_text}</p>\n</section>\n\
         <section class=\"capacidad\" aria-labelledby=\"instituciones\">\n<h2 id=\"instituciones\">{rp_title}</h2>\n\
         <p>{rp_text}</p>\n<p><code>POST /v1/verifications</code></p>\n\
         <p><a class=\"accion\" href=\"/openapi.json\">{rp_api}</a></p>\n</section>\n\
         <section class=\"capacidad\" aria-labelledby=\"accesos\">\n<h2 id=\"accesos\">{accesses_title}</h2>\n\
         <p>{accesses_text}</p>\n<p><a class=\"accion\" href=\"/mis-accesos\">{accesses_link}</a></p>\n</section>\n\
         <section class=\"capacidad\" aria-labelledby=\"log\">\n<h2 id=\"log\">{log_title}</h2>\n\
         <p>{log_text}</p>\n<p><a class=\"accion\" href=\"/log/checkpoint\">{log_link}</a></p>\n</section>\n\
         </div>\n\
         <section aria-labelledby=\"operacion\">\n<h2 id=\"operacion\">{operation}</h2>\n<ul>\n\
         <li><a href=\"/healthz\">/healthz</a>: {healthz}</li>\n\
         <li><a href=\"/readyz\">/readyz</a>: {readyz}</li>\n\
         </ul>\n</section>",
        heading = t("inicio-encabezado"),
        intro = t("inicio-intro"),
        capabilities = t("inicio-capacidades"),
        registry_title = t("inicio-registro-titulo"),
        registry_text = t_args("inicio-registro-texto", &[("personas", Arg::Number(people))]),
        rp_title = t("inicio-instituciones-titulo"),
        rp_text = t("inicio-instituciones-texto"),
        rp_api = t("inicio-instituciones-api"),
        accesses_title = t("inicio-accesos-titulo"),
        accesses_text = t("inicio-accesos-texto"),
        accesses_link = t("inicio-accesos-enlace"),
        log_title = t("inicio-log-titulo"),
        log_text = t("inicio-log-texto"),
        log_link = t("inicio-log-enlace"),
        operation = t("inicio-operacion-titulo"),
        healthz = t("inicio-healthz"),
        readyz = t("inicio-readyz"),
    );
    Ok(layout(&t("inicio-titulo"), &main))
}

const FAVICON: &str = include_str!("../assets/favicon.svg");

pub(crate) async fn favicon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], FAVICON)
}

pub(crate) async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
}
