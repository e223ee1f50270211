//! `certeza demo`: a ready-to-try Certeza with synthetic people.

use std::path::Path;

use anyhow::Context;
use certeza_core::{CredentialStatus, Person, PopulationGenerator};
use serde_json::json;

use crate::config::{CONFIG_FILE_NAME, FlagOverrides};
use crate::output::out;
use crate::{OpenedDataDirectory, import_and_log, init, serve_until_signal, set_status_and_log};

/// The seed of the demo population, so every demo has the same people.
pub(crate) const DEMO_SEED: u64 = 2026;

/// The file the demo writes what it printed to, for scripts.
pub(crate) const DEMO_JSON: &str = "demo.json";

pub(crate) fn run_demo(data: &Path, flags: &FlagOverrides, people: u64) -> anyhow::Result<()> {
    if !data.join(CONFIG_FILE_NAME).exists() {
        init(data)?;
    }
    let context = OpenedDataDirectory::open(data, flags)?;
    let existing = context.store.registry().count_people()?;
    if existing == 0 {
        let csv_path = data.join("demo-population.csv");
        crate::generate_population(people, DEMO_SEED, &csv_path)?;
        let summary = import_and_log(&context, &csv_path, &data.join("demo-population.rejects.csv"))?;
        out!(
            "imported {} synthetic people in {:.2} s ({:.0} persons/s)",
            summary.written,
            summary.elapsed.as_secs_f64(),
            summary.rows_per_second()
        );
        // A little operator activity, so the log has more than the import:
        // the sample people's credential statuses are confirmed.
        for person in sample_people(people).iter().filter(|person| !person.status.is_vigente()) {
            set_status_and_log(&context, &person.curp, person.status)?;
        }
    } else {
        out!("reusing the demo in {} ({existing} people)", data.display());
    }
    let samples = sample_people(people);
    let api_key = demo_relying_party(&context, data)?;
    let credential = match samples.iter().find(|person| person.status.is_vigente()) {
        Some(person) => Some(crate::credential::demo_credential(&context, person)?),
        None => None,
    };
    let data = data.to_owned();
    let origin = context.config.log.origin.clone();
    let vkey = context.log_signer()?.verifier_key_string();
    serve_until_signal(context, true, move |address| {
        let base_url = format!("http://{address}");
        let description = json!({
            "base_url": base_url,
            "healthz": format!("{base_url}/healthz"),
            "data_directory": data.display().to_string(),
            "population_seed": DEMO_SEED,
            "sample_people": samples.iter().map(sample_json).collect::<Vec<_>>(),
            "relying_party": {
                "name": DEMO_RELYING_PARTY,
                "api_key": api_key,
                "purpose": "apertura-de-cuenta",
                "curl": samples.first().map(|person| curl_command(&base_url, &api_key, person)),
                "receipt_check": samples.first().map(|person| receipt_check_command(&base_url, &api_key, person)),
            },
            "log": {
                "origin": origin,
                "vkey": vkey,
                "url": format!("{base_url}/log"),
                "checkpoint": format!("{base_url}/log/checkpoint"),
                "audit_command": format!("certeza log audit {base_url}/log --vkey '{vkey}'"),
            },
            "credential": credential.as_ref().map(|(code, png)| json!({
                "code": code,
                "png": png.display().to_string(),
                "verify_command": format!("certeza --data {} credential verify {}", data.display(), png.display()),
                "verificar": format!("{base_url}/verificar"),
                "trust_list": format!("{base_url}/credentials/trust-list"),
                "status_list": format!("{base_url}/credentials/status"),
            })),
        });
        let path = data.join(DEMO_JSON);
        std::fs::write(&path, serde_json::to_string_pretty(&description)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        out!("\nCerteza demo — open {base_url}/ in a browser.");
        out!("Sample synthetic people (all fictitious):");
        for person in &samples {
            out!(
                "  {} {} {} — CURP {} CIC {} OCR {} — {}",
                person.given_names,
                person.first_surname,
                person.second_surname,
                person.curp.as_str(),
                person.cic.as_str(),
                person.ocr.as_str(),
                person.status.as_str()
            );
        }
        if let Some(first) = samples.first() {
            out!("Try: certeza --data {} registry show {}", data.display(), first.curp.as_str());
        }
        out!("Demo relying party {DEMO_RELYING_PARTY:?}, API key {api_key}");
        if let Some(first) = samples.first() {
            out!("Verify a sample person (change one OCR digit to see a mismatch):");
            out!("  {}", curl_command(&base_url, &api_key, first));
            out!("Check the answer's receipt offline, as the bank would:");
            out!("  {}", receipt_check_command(&base_url, &api_key, first));
        }
        out!("Transparency log: {base_url}/log/checkpoint (verifier key {vkey})");
        out!("Audit it: certeza log audit {base_url}/log --vkey '{vkey}'");
        if let Some((_, png)) = &credential {
            out!("A signed QR credential of the first sample person: {}", png.display());
            out!("  verify it: certeza --data {} credential verify {}", data.display(), png.display());
            out!("  or upload it (or a photo of it) at {base_url}/verificar");
        }
        out!("The same is in {}.\n", path.display());
        Ok(())
    })
}

/// The demo's relying party.
pub(crate) const DEMO_RELYING_PARTY: &str = "Banco Demostración";

/// Registers the demo relying party once and keeps its key in the data
/// directory (demo only: a real key is shown once and never stored).
fn demo_relying_party(context: &OpenedDataDirectory, data: &Path) -> anyhow::Result<String> {
    let key_path = data.join("demo-relying-party.key");
    if let Ok(key) = std::fs::read_to_string(&key_path) {
        return Ok(key.trim().to_owned());
    }
    let options = crate::rp::AddRelyingParty {
        name: DEMO_RELYING_PARTY.to_owned(),
        purposes: vec!["apertura-de-cuenta".to_owned(), "identity-verification".to_owned()],
        fields: Vec::new(),
        field_booleans: true,
        rate: 50_000,
        daily_quota: 10_000_000,
        enumeration_threshold: 0.5,
        enumeration_min_requests: 50,
        client_certificate: None,
    };
    let key = crate::rp::add(&context.store, &options)?;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .with_context(|| format!("writing {}", key_path.display()))?;
    file.write_all(key.as_bytes())?;
    Ok(key)
}

/// Shell commands that verify `person`, fetch the receipt key and check the
/// answer's receipt offline with `certeza rp verify-receipt`.
fn receipt_check_command(base_url: &str, api_key: &str, person: &Person) -> String {
    format!(
        "{} > answer.json && curl -s {base_url}/v1/verifications/key > receipt-key.jwk && \
         certeza rp verify-receipt answer.json --key receipt-key.jwk",
        curl_command(base_url, api_key, person)
    )
}

/// A ready-to-run curl command verifying `person` (a fresh request id each run).
fn curl_command(base_url: &str, api_key: &str, person: &Person) -> String {
    format!(
        "curl -s -X POST {base_url}/v1/verifications -H 'Authorization: Bearer {api_key}' \
         -H 'Content-Type: application/json' -d '{{\"request_id\":\"demo-'\"$(date +%s%N)\"'\",\
         \"purpose\":\"apertura-de-cuenta\",\"consent\":{{\"reference\":\"consentimiento-demo\",\
         \"obtained_at\":\"2026-01-01T12:00:00Z\",\"method\":\"en-sucursal\"}},\
         \"fields\":{{\"cic\":\"{}\",\"ocr\":\"{}\",\"curp\":\"{}\"}}}}'",
        person.cic.as_str(),
        person.ocr.as_str(),
        person.curp.as_str()
    )
}

/// Three people with a valid credential, then one of each other status.
fn sample_people(population: u64) -> Vec<Person> {
    let mut samples: Vec<Person> = Vec::new();
    for person in PopulationGenerator::new(DEMO_SEED).take(population as usize) {
        let vigentes = samples.iter().filter(|sample| sample.status == CredentialStatus::Vigente).count();
        let wanted = if person.status == CredentialStatus::Vigente {
            vigentes < 3
        } else {
            !samples.iter().any(|sample| sample.status == person.status)
        };
        if wanted {
            samples.push(person);
        }
        if samples.len() == 8 {
            break;
        }
    }
    samples
}

fn sample_json(person: &Person) -> serde_json::Value {
    json!({
        "curp": person.curp.as_str(),
        "given_names": person.given_names,
        "first_surname": person.first_surname,
        "second_surname": person.second_surname,
        "birth_date": person.birth_date.to_string(),
        "clave_elector": person.clave_elector.as_str(),
        "cic": person.cic.as_str(),
        "ocr": person.ocr.as_str(),
        "emission": person.emission.as_str(),
        "status": person.status.as_str(),
    })
}
