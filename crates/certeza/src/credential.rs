//! `certeza credential …`: issue, verify, revoke, rotate the issuer key, and
//! benchmark QR credentials. The state (keys, trust list, status list) lives in the
//! data directory and is managed by [`CredentialAuthority`], which the HTTP service
//! shares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use certeza_core::{Clock, Curp, SystemClock};
use certeza_credential::{DocumentType, StatusList, TrustStore, Verdict, qr};
use certeza_server::credentials::{CredentialAuthority, Issued};
use clap::{Subcommand, ValueEnum};

use crate::OpenedDataDirectory;
use crate::config::{CONFIG_FILE_NAME, Config, FlagOverrides};
use crate::output::out;

/// The module size of rendered PNG codes, in pixels.
const PNG_SCALE: usize = 8;

#[derive(Debug, Subcommand)]
pub(crate) enum CredentialCommand {
    /// Issue a signed QR credential for a person of the registry; prints the code.
    Issue {
        /// The person's CURP.
        #[arg(long)]
        curp: String,
        /// The document type.
        #[arg(long = "type", value_enum, default_value_t = CredentialType::Cpv)]
        doc_type: CredentialType,
        /// Where to write the QR code: FILE.png, FILE.svg or FILE.txt (the code as text).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a credential: exit 0 when valid, 1 with the reason otherwise.
    Verify {
        /// A PNG or JPEG photo of the QR code, a text file, or the code itself (CZ1:… or HC1:…).
        input: String,
        /// A trust list: a signed Certeza trust list or a PEM file of DCC signer certificates
        /// (default: the data directory's trust list).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// A signed status list (default: the data directory's status list).
        #[arg(long)]
        status: Option<PathBuf>,
        /// Judge the credential at this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// Print the whole verdict as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a credential this data directory issued (a code or a photo of it).
    Revoke {
        /// A PNG or JPEG photo of the QR code, a text file, or the code itself.
        input: String,
    },
    /// Make a new issuer key current; old credentials keep verifying.
    RotateKey,
    /// Measure verification, issuance and photo decoding (DESIGN.md §11).
    Bench {
        /// Seconds to spend on each throughput figure.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// How many synthetic camera photos to decode.
        #[arg(long, default_value_t = 30)]
        photos: usize,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum CredentialType {
    /// The voter credential.
    Cpv,
    /// A certificate of registration.
    Constancia,
}

fn now_seconds() -> i64 {
    i64::try_from(SystemClock.now_unix_millis() / 1000).unwrap_or(i64::MAX)
}

/// The configuration of `data`, or the defaults when it is not a data directory.
fn config_of(data: &Path) -> anyhow::Result<Config> {
    if data.join(CONFIG_FILE_NAME).exists() {
        Config::load(data, std::env::vars(), &FlagOverrides::default())
    } else {
        Ok(Config::default())
    }
}

/// The credential authority of a data directory.
pub(crate) fn authority(data: &Path, config: &Config) -> CredentialAuthority {
    CredentialAuthority::new(data, &config.credentials.issuer, &config.credentials.status_uri)
}

pub(crate) fn run(data: &Path, command: CredentialCommand) -> anyhow::Result<ExitCode> {
    match command {
        CredentialCommand::Issue { curp, doc_type, out } => {
            let context = OpenedDataDirectory::open(data, &FlagOverrides::default())?;
            let doc_type = match doc_type {
                CredentialType::Cpv => DocumentType::Cpv,
                CredentialType::Constancia => DocumentType::Constancia,
            };
            let issued = issue_and_log(&context, &curp, doc_type)?;
            if let Some(out) = &out {
                write_code(&issued.code, out)?;
                eprintln!("wrote {}", out.display());
            }
            eprintln!("issued kid {} cti {} status index {}", issued.kid, issued.cti, issued.status_index);
            out!("{}", issued.code);
            Ok(ExitCode::SUCCESS)
        }
        CredentialCommand::Verify { input, trust, status, at, json } => {
            verify(data, &input, trust.as_deref(), status.as_deref(), at.as_deref(), json)
        }
        CredentialCommand::Revoke { input } => {
            let context = OpenedDataDirectory::open(data, &FlagOverrides::default())?;
            let code = match read_input(&input)? {
                Ok(code) => code,
                Err(reason) => bail!("{reason}"),
            };
            let (cti, index) = authority(data, &context.config).revoke(&code, now_seconds())?;
            crate::logging::log_operator_action(
                &context,
                "credential.revoked",
                "credential-revocation",
                format!("{cti}:{index}").as_bytes(),
            )?;
            out!("revoked: status index {index} is set; the signed status list is updated");
            Ok(ExitCode::SUCCESS)
        }
        CredentialCommand::RotateKey => {
            let context = OpenedDataDirectory::open(data, &FlagOverrides::default())?;
            let kid = authority(data, &context.config).rotate(now_seconds)?;
            crate::logging::log_operator_action(
                &context,
                "credential.key_rotated",
                "credential-key-management",
                kid.as_bytes(),
            )?;
            out!("new issuer key {kid} is current; the trust list keeps the old keys for what they signed");
            Ok(ExitCode::SUCCESS)
        }
        CredentialCommand::Bench { seconds, photos } => {
            bench(seconds, photos)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Issues a credential for the person with `curp` and records the issuance in the
/// transparency log (token id and kid only).
pub(crate) fn issue_and_log(
    context: &OpenedDataDirectory,
    curp: &str,
    doc_type: DocumentType,
) -> anyhow::Result<Issued> {
    let curp = Curp::parse(curp.trim()).context("the CURP is not valid")?;
    let registry = context.store.registry();
    let Some(sealed) = registry.find_person(certeza_store::PersonLookup::Curp, &context.sealer.person_id(&curp))?
    else {
        bail!("no person with that CURP is in the registry");
    };
    let person = context.sealer.open(&sealed)?;
    if doc_type == DocumentType::Cpv && !person.status.is_vigente() {
        bail!("the person's voter credential is {}; no cpv credential is issued", person.status.as_str());
    }
    let issued = authority(&context.data, &context.config).issue(&person, doc_type, now_seconds())?;
    crate::logging::log_operator_action(
        context,
        "credential.issued",
        "credential-issuance",
        format!("{}:{}", issued.cti, issued.kid).as_bytes(),
    )?;
    Ok(issued)
}

/// Writes the code as PNG, SVG or text, by the file's extension.
pub(crate) fn write_code(code: &str, out: &Path) -> anyhow::Result<()> {
    let extension = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let bytes = match extension.as_deref() {
        Some("png") => qr::render_png(code, PNG_SCALE)?,
        Some("svg") => qr::render_svg(code)?.into_bytes(),
        Some("txt") => format!("{code}\n").into_bytes(),
        _ => bail!("--out must end in .png, .svg or .txt"),
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))
}

/// The code in `input`: the code itself, or a file (image or text). The inner
/// `Err` is a reason word for an unreadable input.
fn read_input(input: &str) -> anyhow::Result<Result<String, &'static str>> {
    let trimmed = input.trim();
    if trimmed.starts_with(certeza_credential::PREFIX) || trimmed.starts_with(certeza_credential::DCC_PREFIX) {
        return Ok(Ok(trimmed.to_owned()));
    }
    let path = Path::new(input);
    if !path.is_file() {
        // Neither a code nor a file: judged as a code (malformed).
        return Ok(Ok(trimmed.to_owned()));
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xff, 0xd8]) {
        return Ok(qr::decode_image(&bytes).map_err(|_| "malformed: no readable QR code in the image"));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Ok(text.trim().to_owned())),
        Err(_) => Ok(Err("malformed: the file is neither an image nor text")),
    }
}

fn verify(
    data: &Path,
    input: &str,
    trust_file: Option<&Path>,
    status_file: Option<&Path>,
    at: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let now = now_seconds();
    let at = match at {
        Some(text) => certeza_credential::time::parse_rfc3339(text).context("--at must be an RFC 3339 time")?,
        None => now,
    };
    let config = config_of(data)?;
    let authority = authority(data, &config);
    let own_trust = || authority.trust_store(now);
    let trust = match trust_file {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let root = authority.trust_root().ok();
            TrustStore::load(&bytes, root.as_ref(), now)
                .with_context(|| format!("{} is not a usable trust list", path.display()))?
        }
        None => own_trust().with_context(|| {
            format!(
                "{} has no credential trust list yet: pass --trust FILE, or issue a credential first",
                data.display()
            )
        })?,
    };
    let status: Option<StatusList> = match status_file {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(
                StatusList::from_signed(&bytes, &trust, now)
                    .with_context(|| format!("{} is not a status list signed by a trusted issuer", path.display()))?,
            )
        }
        None if authority.is_initialised() => {
            let own = own_trust().context("the data directory's trust list does not verify")?;
            Some(authority.status_list(&own, now).context("the data directory's status list does not verify")?)
        }
        None => None,
    };
    let verdict = match read_input(input)? {
        Ok(code) => certeza_credential::verify(&code, &trust, status.as_ref(), at),
        Err(reason) => {
            if json {
                out!("{}", serde_json::json!({"valid": false, "reason": "malformed", "detail": reason}));
            } else {
                eprintln!("invalid: {reason}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    print_verdict(&verdict, json);
    Ok(if verdict.valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_verdict(verdict: &Verdict, json: bool) {
    if json {
        out!("{}", serde_json::to_string_pretty(&verdict.to_json()).unwrap_or_default());
        return;
    }
    let issuer = verdict.issuer.as_deref().unwrap_or("an unnamed issuer");
    match verdict.reason {
        None => {
            let kind = verdict.doc_type.as_deref().or(verdict.format.map(|f| f.as_str())).unwrap_or("credential");
            out!("valid: {kind} issued by {issuer} (kid {})", verdict.kid.as_deref().unwrap_or("-"));
            if let (Some(iat), Some(exp)) = (verdict.issued_at, verdict.expires_at) {
                out!("issued at {iat}, expires at {exp} (unix seconds)");
            }
        }
        Some(reason) => eprintln!("invalid: {reason} ({})", verdict.detail),
    }
}

fn bench(seconds: f64, photos: usize) -> anyhow::Result<()> {
    if !seconds.is_finite() || seconds <= 0.0 {
        bail!("--seconds must be positive");
    }
    let report = certeza_credential::benchmark(Duration::from_secs_f64(seconds), photos)?;
    out!("credential verify (full CZ1 pipeline): {:.0}/s", report.verify_per_s);
    out!("raw Ed25519 signature verify:          {:.0}/s", report.raw_ed25519_verify_per_s);
    out!("verify / raw signature verify:         {:.0}% (target ≥ 80%)", report.verify_ratio * 100.0);
    out!("issuance:                              {:.0}/s", report.issue_per_s);
    out!(
        "photo decode (1.2 MP camera-like):     median {:.2} ms, {}/{} decoded (target ≤ 5 ms)",
        report.photo_decode_median_ms,
        report.photos_decoded,
        report.photos
    );
    out!("code length: {} characters", report.code_len);
    Ok(())
}

/// The demo's credential: issued once for `person` (so the log shows an issuance),
/// its PNG at `DIR/demo-credential.png` and its code at `DIR/demo-credential.txt`;
/// later runs reuse it. Returns the code and the PNG's path.
pub(crate) fn demo_credential(
    context: &OpenedDataDirectory,
    person: &certeza_core::Person,
) -> anyhow::Result<(String, PathBuf)> {
    let png = context.data.join("demo-credential.png");
    let txt = context.data.join("demo-credential.txt");
    if let Ok(code) = std::fs::read_to_string(&txt)
        && png.exists()
    {
        return Ok((code.trim().to_owned(), png));
    }
    let issued = issue_and_log(context, person.curp.as_str(), DocumentType::Cpv)?;
    write_code(&issued.code, &png)?;
    write_code(&issued.code, &txt)?;
    Ok((issued.code, png))
}
