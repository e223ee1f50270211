//! `certeza rp`: registering relying parties (banks, agencies) and their policies.

use std::path::Path;
use std::process::ExitCode;

use crate::output::out;
use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certeza_core::{Clock, SystemClock};
use certeza_server::verification::{ALL_FIELDS, Policy, verify_receipt};
use certeza_store::Store;

/// The options of `certeza rp add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddRelyingParty {
    /// A unique name, shown to citizens (e.g. "Banco Ejemplo").
    pub(crate) name: String,
    /// Purposes it may declare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "identity-verification")]
    pub(crate) purposes: Vec<String>,
    /// Fields it may present, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub(crate) fields: Vec<String>,
    /// Answer with per-field booleans.
    #[arg(long)]
    pub(crate) field_booleans: bool,
    /// Verifications per second.
    #[arg(long, default_value_t = 1000)]
    pub(crate) rate: u32,
    /// Verifications per UTC day.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) daily_quota: u64,
    /// Share of not-found/mismatch answers (0–1) above which it is throttled.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) enumeration_threshold: f64,
    /// Answers in the window before the threshold applies.
    #[arg(long, default_value_t = 50)]
    pub(crate) enumeration_min_requests: u32,
    /// Bind it to this client certificate (PEM): it is then served only over
    /// mutual TLS with that certificate (see `server.tls_client_ca_file`).
    #[arg(long, value_name = "CERTIFICATE.pem")]
    pub(crate) client_certificate: Option<std::path::PathBuf>,
}

/// Registers a relying party; returns its API key (shown once, stored hashed).
pub(crate) fn add(store: &Store, options: &AddRelyingParty) -> anyhow::Result<String> {
    let name = options.name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        bail!("the name must be 1–100 printable characters");
    }
    let fields: Vec<String> = if options.fields.is_empty() {
        ALL_FIELDS.iter().map(|field| (*field).to_owned()).collect()
    } else {
        options.fields.clone()
    };
    if let Some(unknown) = fields.iter().find(|field| !ALL_FIELDS.contains(&field.as_str())) {
        bail!("unknown field {unknown:?}; the fields are {}", ALL_FIELDS.join(", "));
    }
    if options.purposes.iter().any(|purpose| purpose.trim().is_empty() || purpose.len() > 64) {
        bail!("each purpose must be 1–64 characters");
    }
    if !(0.0..=1.0).contains(&options.enumeration_threshold) {
        bail!("the enumeration threshold is a share between 0 and 1");
    }
    let client_certificate_sha256 = match &options.client_certificate {
        None => None,
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let fingerprint = certeza_server::tls::certificate_sha256_from_pem(&pem)
                .with_context(|| format!("reading the certificate in {}", path.display()))?;
            Some(certeza_crypto::to_hex(&fingerprint))
        }
    };
    let policy = Policy {
        purposes: options.purposes.clone(),
        fields,
        field_booleans: options.field_booleans,
        rate_per_second: options.rate.max(1),
        daily_quota: options.daily_quota,
        enumeration_threshold: options.enumeration_threshold,
        enumeration_min_requests: options.enumeration_min_requests,
        client_certificate_sha256,
    };
    let mut secret = [0u8; 32];
    certeza_crypto::os_random(&mut secret)?;
    let api_key = format!("czk_{}", certeza_crypto::to_hex(&secret));
    let key_hash = certeza_crypto::sha256(api_key.as_bytes());
    store
        .add_relying_party(name, &key_hash, &serde_json::to_string(&policy)?, SystemClock.now_unix_millis())
        .with_context(|| format!("registering {name:?} (is the name already taken?)"))?;
    Ok(api_key)
}

pub(crate) fn list(store: &Store) -> anyhow::Result<ExitCode> {
    for party in store.relying_parties()? {
        let policy: Policy = serde_json::from_str(&party.policy).context("a stored policy is malformed")?;
        out!(
            "{}\t{}\tpurposes={}\tfields={}\tfield_booleans={}\trate={}/s\tquota={}/day\tclient_certificate={}",
            party.name,
            if party.revoked_at_ms.is_some() { "revoked" } else { "active" },
            policy.purposes.join(","),
            policy.fields.join(","),
            policy.field_booleans,
            policy.rate_per_second,
            policy.daily_quota,
            policy.client_certificate_sha256.as_deref().unwrap_or("none")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn revoke(store: &Store, name: &str) -> anyhow::Result<ExitCode> {
    if !store.revoke_relying_party(name, SystemClock.now_unix_millis())? {
        bail!("no active relying party is named {name:?}");
    }
    out!("revoked {name}; its key stops working within 30 seconds on running servers");
    Ok(ExitCode::SUCCESS)
}

/// `certeza rp verify-receipt`: checks a verification answer's batch receipt
/// offline with the receipt key (a JWK, as `GET /v1/verifications/key`
/// serves it) and prints what the receipt states.
pub(crate) fn verify_receipt_file(answer: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let read_json = |path: &Path, what: &str| -> anyhow::Result<serde_json::Value> {
        let text = std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("the {what} {} is not JSON", path.display()))
    };
    let answer = read_json(answer, "answer")?;
    let jwk = read_json(key, "key")?;
    if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
        bail!("the key is not an Ed25519 JWK (kty OKP, crv Ed25519)");
    }
    let public = jwk["x"]
        .as_str()
        .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
        .and_then(|x| <[u8; 32]>::try_from(x).ok())
        .context("the key's x is not 32 bytes of base64url")?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).context("the key's x is not an Ed25519 public key")?;
    // The whole answer, or its receipt member alone.
    let receipt = if answer.get("statement").is_some() { &answer } else { &answer["receipt"] };
    let statement = verify_receipt(receipt, &key)?;
    if let Some(id) = answer.get("verification_id").filter(|_| receipt != &answer)
        && id != &statement["verification_id"]
    {
        bail!("the receipt is valid but states another verification ({})", statement["verification_id"]);
    }
    out!(
        "receipt valid: verification {} ({}{}) for {} at {}, log entry {} in {}; one of a batch of {}",
        statement["verification_id"].as_str().unwrap_or("?"),
        statement["outcome"].as_str().unwrap_or("?"),
        statement["reason"].as_str().map(|reason| format!(", {reason}")).unwrap_or_default(),
        statement["relying_party"].as_str().unwrap_or("?"),
        statement["time"].as_str().unwrap_or("?"),
        statement["log"]["leaf_hash"].as_str().unwrap_or("?"),
        statement["log"]["origin"].as_str().unwrap_or("?"),
        receipt["batch"]["size"],
    );
    Ok(ExitCode::SUCCESS)
}
