//! Configuration layering: defaults → `certeza.toml` → `CERTEZA_*` environment
//! variables → command-line flags.
//!
//! A nested key `a.b` is set from the environment as `CERTEZA_A__B` (double
//! underscore for nesting). Any key may instead be given as `KEY_FILE` (in the
//! file as `key_file = "PATH"`, in the environment as `CERTEZA_A__B_FILE`), in
//! which case the value is read from that file: secrets stay out of the
//! configuration file and the process environment. Unknown keys are errors.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The name of the configuration file inside the data directory.
pub const CONFIG_FILE_NAME: &str = "certeza.toml";

/// The whole configuration.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP service settings.
    pub server: ServerConfig,
    /// Database settings.
    pub database: DatabaseConfig,
    /// Transparency log settings.
    pub log: LogConfig,
    /// Acting as a witness of other logs (`POST /log/add-checkpoint`).
    pub witness: WitnessRoleConfig,
    /// QR credential settings.
    pub credentials: CredentialsConfig,
}

/// QR credential settings.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// The issuer name written into every credential (`iss`) and the trust list.
    pub issuer: String,
    /// The URI of the status list, as credentials reference it (where the server
    /// publishes `GET /credentials/status`).
    pub status_uri: String,
    /// Bearer token for `POST /v1/credentials`; empty disables the endpoint.
    pub issuer_token: String,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            issuer: "certeza.example".to_owned(),
            status_uri: "https://certeza.example/credentials/status".to_owned(),
            issuer_token: String::new(),
        }
    }
}

/// Acting as a C2SP tlog-witness of other institutions' logs.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessRoleConfig {
    /// Logs this server cosigns, each `ORIGIN=VKEY`; empty: not a witness.
    pub follows: Vec<String>,
    /// The witness key's name (fixed when the key is created).
    pub name: String,
}

impl Default for WitnessRoleConfig {
    fn default() -> Self {
        Self { follows: Vec::new(), name: "certeza.example/witness".to_owned() }
    }
}

/// Transparency log settings.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The log's origin line (also the name of its note key).
    pub origin: String,
    /// How often the sequencer integrates pending entries, in milliseconds.
    pub batch_interval_ms: u64,
    /// The maximum merge delay promised to queued submitters, in milliseconds.
    pub max_merge_delay_ms: u64,
    /// Bearer token for `POST /v1/log/entries`; empty disables the endpoint.
    pub submit_token: String,
    /// How long the sequencer's lease lasts after each renewal, in
    /// milliseconds: after a crash, another instance (or a restart) takes over
    /// once it expires.
    pub lease_ttl_ms: u64,
    /// The witnesses asked to cosign every new checkpoint.
    pub witnesses: Vec<WitnessConfig>,
}

/// A witness the log asks for cosignatures (C2SP tlog-witness).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's base URL; requests go to `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature verifier key (`name+hash+base64`, algorithm 0x04).
    pub vkey: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            origin: "certeza.example/log".to_owned(),
            batch_interval_ms: 100,
            max_merge_delay_ms: 5_000,
            submit_token: String::new(),
            lease_ttl_ms: certeza_log::sequencer::DEFAULT_LEASE_TTL_MILLIS,
            witnesses: Vec::new(),
        }
    }
}

/// HTTP service settings.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: String,
    /// Whether cookies carry `Secure`: set it when the service is reached
    /// over TLS (behind a proxy); off by default for the local demo.
    pub secure_cookies: bool,
    /// The server's certificate chain as PEM (usually `tls_certificate_file =
    /// "PATH"`); with `tls_private_key`, the server speaks HTTPS.
    pub tls_certificate: String,
    /// The server's private key as PEM (a secret: `tls_private_key_file`).
    pub tls_private_key: String,
    /// CA certificates (PEM) that client certificates must chain to: set, the
    /// server asks clients for a certificate, and relying parties bound to
    /// one (`certeza rp add --client-certificate`) must present it.
    pub tls_client_ca: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            secure_cookies: false,
            tls_certificate: String::new(),
            tls_private_key: String::new(),
            tls_client_ca: String::new(),
        }
    }
}

/// Database settings.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (relative to the data directory) or `postgres://…`.
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: "sqlite://certeza.db".to_owned() }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Config")
            .field("server.listen", &self.server.listen)
            .field("server.tls", &!self.server.tls_certificate.is_empty())
            .field("server.tls_private_key", &if self.server.tls_private_key.is_empty() { "" } else { "[REDACTED]" })
            .field("server.tls_client_ca", &!self.server.tls_client_ca.is_empty())
            .field("database.url", &certeza_store::redact_url(&self.database.url))
            .field("log.origin", &self.log.origin)
            .field("log.batch_interval_ms", &self.log.batch_interval_ms)
            .field("log.max_merge_delay_ms", &self.log.max_merge_delay_ms)
            .field("log.submit_token", &if self.log.submit_token.is_empty() { "" } else { "[REDACTED]" })
            .field("log.lease_ttl_ms", &self.log.lease_ttl_ms)
            .field("log.witnesses", &self.log.witnesses)
            .field("witness", &self.witness)
            .field("credentials.issuer", &self.credentials.issuer)
            .field("credentials.status_uri", &self.credentials.status_uri)
            .field(
                "credentials.issuer_token",
                &if self.credentials.issuer_token.is_empty() { "" } else { "[REDACTED]" },
            )
            .finish()
    }
}

/// Flags that override configuration keys.
#[derive(Debug, Default)]
pub struct FlagOverrides {
    /// `--listen`.
    pub listen: Option<String>,
}

impl Config {
    /// Loads the configuration of `data_directory` with every layer applied.
    pub fn load(
        data_directory: &Path,
        environment: impl IntoIterator<Item = (String, String)>,
        flags: &FlagOverrides,
    ) -> anyhow::Result<Config> {
        let mut merged = toml::Table::try_from(Config::default()).context("serialising the default configuration")?;
        let file_path = data_directory.join(CONFIG_FILE_NAME);
        match std::fs::read_to_string(&file_path) {
            Ok(text) => {
                let mut from_file: toml::Table =
                    text.parse().with_context(|| format!("{} is not valid TOML", file_path.display()))?;
                resolve_file_references(&mut from_file, data_directory)
                    .with_context(|| format!("in {}", file_path.display()))?;
                merge(&mut merged, from_file);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).with_context(|| format!("reading {}", file_path.display())),
        }
        for (name, value) in environment {
            apply_environment_variable(&mut merged, &name, value)?;
        }
        if let Some(listen) = &flags.listen {
            set_path(&mut merged, &["server", "listen"], toml::Value::String(listen.clone()))?;
        }
        let mut config: Config = toml::Value::Table(merged)
            .try_into()
            .map_err(|error: toml::de::Error| anyhow::anyhow!("configuration: {}", error.message()))?;
        config.database.url = resolve_database_url(&config.database.url, data_directory);
        Ok(config)
    }
}

/// Makes a relative SQLite path relative to the data directory.
fn resolve_database_url(url: &str, data_directory: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) if !Path::new(path).is_absolute() => {
            format!("sqlite://{}", data_directory.join(path).display())
        }
        _ => url.to_owned(),
    }
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(overlay_table)) => {
                merge(base_table, overlay_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Replaces every `key_file = "PATH"` with `key = <content of PATH>`.
fn resolve_file_references(table: &mut toml::Table, base_directory: &Path) -> anyhow::Result<()> {
    let file_keys: Vec<String> = table.keys().filter(|key| key.ends_with("_file")).cloned().collect();
    for file_key in file_keys {
        let Some(toml::Value::String(path)) = table.remove(&file_key) else {
            bail!("{file_key} must be a path string");
        };
        let key = file_key.trim_end_matches("_file").to_owned();
        table.insert(key, toml::Value::String(read_secret_file(&base_directory.join(path))?));
    }
    for (_, value) in table.iter_mut() {
        if let toml::Value::Table(inner) = value {
            resolve_file_references(inner, base_directory)?;
        }
    }
    Ok(())
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    let content = std::fs::read_to_string(path).with_context(|| format!("reading secret file {}", path.display()))?;
    Ok(content.trim_end_matches(['\n', '\r']).to_owned())
}

/// Applies `CERTEZA_A__B=value` (or `CERTEZA_A__B_FILE=path`) as key `a.b`.
/// Variables without a double underscore are not configuration keys (for
/// example `CERTEZA_DATA`, the data-directory flag) and are left alone.
fn apply_environment_variable(table: &mut toml::Table, name: &str, value: String) -> anyhow::Result<()> {
    let Some(rest) = name.strip_prefix("CERTEZA_") else { return Ok(()) };
    if !rest.contains("__") {
        return Ok(());
    }
    let lowercase = rest.to_ascii_lowercase();
    let mut path: Vec<&str> = lowercase.split("__").collect();
    let mut value = value;
    if let Some(last) = path.last_mut()
        && let Some(stripped) = last.strip_suffix("_file")
    {
        *last = stripped;
        value = read_secret_file(&PathBuf::from(&value)).with_context(|| format!("from {name}"))?;
    }
    let typed = match get_path(table, &path) {
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(value.parse().with_context(|| format!("{name} must be an integer"))?)
        }
        Some(toml::Value::Boolean(_)) => {
            toml::Value::Boolean(value.parse().with_context(|| format!("{name} must be true or false"))?)
        }
        Some(toml::Value::String(_)) => toml::Value::String(value),
        // A list is given in TOML inline syntax, e.g.
        // CERTEZA_LOG__WITNESSES='[{ url = "http://w:8090", vkey = "…" }]'.
        Some(toml::Value::Array(_)) => {
            let parsed: toml::Table = format!("value = {value}")
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} must be a TOML inline array"))?;
            match parsed.get("value") {
                Some(array @ toml::Value::Array(_)) => array.clone(),
                _ => bail!("{name} must be a TOML inline array"),
            }
        }
        _ => bail!("{name} names no configuration key ({})", path.join(".")),
    };
    set_path(table, &path, typed)
}

fn get_path<'table>(table: &'table toml::Table, path: &[&str]) -> Option<&'table toml::Value> {
    let (last, parents) = path.split_last()?;
    let mut current = table;
    for parent in parents {
        current = current.get(*parent)?.as_table()?;
    }
    current.get(*last)
}

fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) -> anyhow::Result<()> {
    let Some((last, parents)) = path.split_last() else { bail!("empty configuration key") };
    let mut current = table;
    for parent in parents {
        current = current
            .entry((*parent).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("{parent} is not a section"))?;
    }
    current.insert((*last).to_owned(), value);
    Ok(())
}

/// The configuration file `certeza init` writes.
pub fn initial_config_file() -> String {
    "# Certeza configuration. Every key can be overridden by an environment\n\
     # variable CERTEZA_SECTION__KEY (e.g. CERTEZA_DATABASE__URL), or read from a\n\
     # file with KEY_file = \"PATH\" / CERTEZA_SECTION__KEY_FILE=PATH for secrets.\n\n\
     [server]\nlisten = \"127.0.0.1:8080\"\n\
     # Set to true when the service is reached over TLS, so cookies carry Secure.\nsecure_cookies = false\n\
     # HTTPS: the certificate chain and key (PEM), and for mutual TLS the CA of client certificates, e.g.\n\
     # tls_certificate_file = \"tls/server.pem\"\n# tls_private_key_file = \"tls/server-key.pem\"\n# tls_client_ca_file = \"tls/clients-ca.pem\"\n\n\
     [database]\n# sqlite://PATH (relative to this directory) or postgres://USER@HOST/DB\nurl = \"sqlite://certeza.db\"\n\n\
     [log]\n# The transparency log's name; also the name of its signing key.\norigin = \"certeza.example/log\"\n\
     batch_interval_ms = 100\nmax_merge_delay_ms = 5000\n# Bearer token for POST /v1/log/entries (empty: disabled); prefer submit_token_file.\n\
     submit_token = \"\"\n\
     # After a crash, the sequencer's lease passes to a restarted or other instance after this long.\n\
     lease_ttl_ms = 10000\n\
     # Witnesses asked to cosign each checkpoint (C2SP tlog-witness), e.g.\n\
     # [[log.witnesses]]\n# url = \"http://witness.example:8090\"\n# vkey = \"witness-name+0123abcd+BASE64\"\n\n\
     [credentials]\n# The issuer name (iss) of QR credentials and the URI their status list is published at.\n\
     issuer = \"certeza.example\"\nstatus_uri = \"https://certeza.example/credentials/status\"\n\
     # Bearer token for POST /v1/credentials (empty: disabled); prefer issuer_token_file.\nissuer_token = \"\"\n"
        .to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn layers_apply_in_order_defaults_file_environment_flags() {
        let directory = tempfile::tempdir().unwrap();
        let defaults = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(defaults.server.listen, "127.0.0.1:8080");
        assert!(defaults.database.url.ends_with("certeza.db"));
        assert!(defaults.database.url.starts_with(&format!("sqlite://{}", directory.path().display())));

        std::fs::write(
            directory.path().join(CONFIG_FILE_NAME),
            "[server]\nlisten = \"0.0.0.0:1\"\n[database]\nurl = \"postgres://file@db/x\"\n",
        )
        .unwrap();
        let from_file = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(from_file.server.listen, "0.0.0.0:1");
        assert_eq!(from_file.database.url, "postgres://file@db/x");

        let from_environment = Config::load(
            directory.path(),
            environment(&[("CERTEZA_SERVER__LISTEN", "0.0.0.0:2"), ("CERTEZA_TEST_POSTGRES_URL", "ignored")]),
            &FlagOverrides::default(),
        )
        .unwrap();
        assert_eq!(from_environment.server.listen, "0.0.0.0:2");

        let from_flags = Config::load(
            directory.path(),
            environment(&[("CERTEZA_SERVER__LISTEN", "0.0.0.0:2")]),
            &FlagOverrides { listen: Some("0.0.0.0:3".to_owned()) },
        )
        .unwrap();
        assert_eq!(from_flags.server.listen, "0.0.0.0:3");
    }

    #[test]
    fn secrets_come_from_files() {
        let directory = tempfile::tempdir().unwrap();
        let secret_path = directory.path().join("db-url");
        std::fs::write(&secret_path, "postgres://app:pw@db/certeza\n").unwrap();
        let config = Config::load(
            directory.path(),
            environment(&[("CERTEZA_DATABASE__URL_FILE", secret_path.to_str().unwrap())]),
            &FlagOverrides::default(),
        )
        .unwrap();
        assert_eq!(config.database.url, "postgres://app:pw@db/certeza");

        std::fs::write(directory.path().join(CONFIG_FILE_NAME), "[database]\nurl_file = \"db-url\"\n").unwrap();
        let config = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(config.database.url, "postgres://app:pw@db/certeza");
    }

    #[test]
    fn debug_redacts_the_database_password() {
        let mut config = Config::default();
        config.database.url = "postgres://app:topsecret@db/certeza".to_owned();
        config.log.submit_token = "token-topsecret".to_owned();
        config.credentials.issuer_token = "issuer-topsecret".to_owned();
        config.server.tls_private_key = "-----BEGIN PRIVATE KEY-----\ntopsecret".to_owned();
        let shown = format!("{config:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
    }

    #[test]
    fn witnesses_come_from_the_file_or_the_environment() {
        let directory = tempfile::tempdir().unwrap();
        let defaults = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap();
        assert!(defaults.log.witnesses.is_empty());
        std::fs::write(
            directory.path().join(CONFIG_FILE_NAME),
            "[[log.witnesses]]\nurl = \"http://w1\"\nvkey = \"k1\"\n",
        )
        .unwrap();
        let config = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(config.log.witnesses, [WitnessConfig { url: "http://w1".into(), vkey: "k1".into() }]);
        let config = Config::load(
            directory.path(),
            environment(&[("CERTEZA_LOG__WITNESSES", "[{ url = \"http://w2\", vkey = \"k2\" }]")]),
            &FlagOverrides::default(),
        )
        .unwrap();
        assert_eq!(config.log.witnesses, [WitnessConfig { url: "http://w2".into(), vkey: "k2".into() }]);
        std::fs::write(
            directory.path().join(CONFIG_FILE_NAME),
            "[[log.witnesses]]\nurl = \"http://w1\"\nvkey = \"k1\"\nkey = \"typo\"\n",
        )
        .unwrap();
        let error = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap_err();
        assert!(error.to_string().contains("key"), "{error}");
        let error = Config::load(
            tempfile::tempdir().unwrap().path(),
            environment(&[("CERTEZA_LOG__WITNESSES", "not a list")]),
            &FlagOverrides::default(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("CERTEZA_LOG__WITNESSES"), "{error}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join(CONFIG_FILE_NAME), "[server]\nlisten_typo = \"x\"\n").unwrap();
        let error = Config::load(directory.path(), Vec::new(), &FlagOverrides::default()).unwrap_err();
        assert!(error.to_string().contains("listen_typo"), "{error}");

        let empty = tempfile::tempdir().unwrap();
        let error =
            Config::load(empty.path(), environment(&[("CERTEZA_SERVER__LISTNE", "x")]), &FlagOverrides::default())
                .unwrap_err();
        assert!(error.to_string().contains("server.listne"), "{error}");
    }
}
