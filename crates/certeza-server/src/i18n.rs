//! The message catalogue of everything a citizen reads (Project Fluent).
//!
//! The catalogue files live in `locales/<language>/*.ftl` and are embedded in
//! the binary. Only `es-MX` exists today; another language is a new folder and
//! a choice of bundle. Every message is returned HTML-escaped, so the
//! catalogue holds plain text and arguments can never inject markup.

use std::borrow::Cow;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::pages::escape_html;

/// The Spanish (Mexico) catalogue, one file per area.
const ES_MX: &[(&str, &str)] = &[
    ("comun.ftl", include_str!("../locales/es-MX/comun.ftl")),
    ("inicio.ftl", include_str!("../locales/es-MX/inicio.ftl")),
    ("ciudadania.ftl", include_str!("../locales/es-MX/ciudadania.ftl")),
    ("credenciales.ftl", include_str!("../locales/es-MX/credenciales.ftl")),
];

/// The language tag of every page.
pub(crate) const LANGUAGE: &str = "es-MX";

static BUNDLE: LazyLock<FluentBundle<FluentResource>> = LazyLock::new(|| build_bundle(ES_MX));

fn build_bundle(files: &[(&str, &str)]) -> FluentBundle<FluentResource> {
    let language = LANGUAGE.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    // Pages are HTML: no Unicode isolation marks around arguments.
    bundle.set_use_isolating(false);
    for (name, text) in files {
        let resource = FluentResource::try_new((*text).to_owned()).unwrap_or_else(|(resource, errors)| {
            tracing::error!(file = name, errors = errors.len(), "the message catalogue has syntax errors");
            resource
        });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(file = name, errors = errors.len(), "the message catalogue repeats a message");
        }
    }
    bundle
}

/// An argument of a message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    /// Text.
    Text(&'a str),
    /// A number (selects plural forms).
    Number(i64),
}

/// The message `id`, HTML-escaped. A missing message shows its id (and is
/// caught by the catalogue test).
pub(crate) fn t(id: &str) -> String {
    t_args(id, &[])
}

/// The message `id` with arguments, as plain text (for messages that are not
/// HTML, such as a text message to a phone).
pub(crate) fn text_args(id: &str, arguments: &[(&str, Arg<'_>)]) -> String {
    format_message(&BUNDLE, id, arguments).into_owned()
}

/// The message `id` with arguments, HTML-escaped.
pub(crate) fn t_args(id: &str, arguments: &[(&str, Arg<'_>)]) -> String {
    escape_html(&format_message(&BUNDLE, id, arguments))
}

fn format_message<'b>(
    bundle: &'b FluentBundle<FluentResource>,
    id: &str,
    arguments: &[(&str, Arg<'_>)],
) -> Cow<'b, str> {
    let Some(pattern) = bundle.get_message(id).and_then(|message| message.value()) else {
        tracing::warn!(id, "missing message in the catalogue");
        return Cow::Owned(id.to_owned());
    };
    let mut fluent_arguments = FluentArgs::new();
    for (name, value) in arguments {
        match value {
            Arg::Text(text) => fluent_arguments.set(*name, FluentValue::from((*text).to_owned())),
            Arg::Number(number) => fluent_arguments.set(*name, FluentValue::from(*number)),
        }
    }
    let mut errors = Vec::new();
    let formatted = bundle.format_pattern(pattern, Some(&fluent_arguments), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(id, errors = errors.len(), "a message did not format cleanly");
    }
    Cow::Owned(formatted.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_parses_without_errors_or_repeats() {
        let language = LANGUAGE.parse().unwrap_or_default();
        let mut bundle: FluentBundle<FluentResource> = FluentBundle::new_concurrent(vec![language]);
        for (name, text) in ES_MX {
            let resource = FluentResource::try_new((*text).to_owned());
            assert!(resource.is_ok(), "{name} has syntax errors");
            if let Ok(resource) = resource {
                assert!(bundle.add_resource(resource).is_ok(), "{name} repeats a message");
            }
        }
    }

    #[test]
    fn every_message_used_by_the_code_exists() {
        let sources = [
            include_str!("pages.rs"),
            include_str!("citizen.rs"),
            include_str!("lib.rs"),
            include_str!("credential_routes.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            for (start, _) in source.match_indices("t(\"").chain(source.match_indices("t_args(\"")) {
                // Only calls of `t`, `t_args` and `text_args`, not `get("…")`.
                let before = source[..start].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() && !source[..start].ends_with("tex") || before == '_' || before == '.' {
                    continue;
                }
                let rest = &source[start..];
                let Some(open) = rest.find('"') else { continue };
                let Some(length) = rest[open + 1..].find('"') else { continue };
                let id = &rest[open + 1..open + 1 + length];
                assert!(BUNDLE.get_message(id).is_some(), "message {id:?} is missing from the catalogue");
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} messages found: the scan is broken");
        // The ids the code builds at run time.
        let built = (1..=12).map(|month| format!("mes-{month}")).chain(
            ["not-found", "mismatch", "reported-lost", "reported-stolen", "expired", "replaced", "cancelled"]
                .iter()
                .map(|reason| format!("resultado-{reason}")),
        );
        let built = built
            .chain(
                ["malformed", "unknown-key", "bad-signature", "expired", "not-yet-valid", "revoked"]
                    .iter()
                    .map(|reason| format!("razon-{reason}")),
            )
            .chain(["cpv", "constancia", "cita"].iter().map(|kind| format!("documento-{kind}")))
            .chain(
                ["nombre", "curp", "clave-elector", "emision", "sexo", "nacimiento", "asunto"]
                    .iter()
                    .map(|field| format!("campo-{field}")),
            );
        for id in built {
            assert!(BUNDLE.get_message(&id).is_some(), "message {id:?} is missing from the catalogue");
        }
    }

    #[test]
    fn arguments_are_escaped_and_plurals_select() {
        assert_eq!(
            t_args("codigo-intentos-restantes", &[("n", Arg::Number(1))]),
            "Código incorrecto. Le queda 1 intento."
        );
        assert!(t_args("codigo-intentos-restantes", &[("n", Arg::Number(3))]).contains("3 intentos"));
        let escaped = t_args("codigo-mensaje", &[("codigo", Arg::Text("<b>"))]);
        assert!(escaped.contains("&lt;b&gt;"), "{escaped}");
        assert!(text_args("codigo-mensaje", &[("codigo", Arg::Text("<b>"))]).contains("<b>"));
    }
}
