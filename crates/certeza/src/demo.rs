//! `certeza demo`: a ready-to-try Certeza with synthetic people.

use std::path::Path;

use anyhow::Context;
use certeza_core::{CredentialStatus, Person, PopulationGenerator};
use serde_json::json;

use crate::config::{CONFIG_FILE_NAME, FlagOverrides};
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
        println!(
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
        println!("reusing the demo in {} ({existing} people)", data.display());
    }
    let samples = sample_people(people);
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
            "log": {
                "origin": origin,
                "vkey": vkey,
                "url": format!("{base_url}/log"),
                "checkpoint": format!("{base_url}/log/checkpoint"),
                "audit_command": format!("certeza log audit {base_url}/log --vkey '{vkey}'"),
            },
        });
        let path = data.join(DEMO_JSON);
        std::fs::write(&path, serde_json::to_string_pretty(&description)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nCerteza demo — open {base_url}/ in a browser.");
        println!("Sample synthetic people (all fictitious):");
        for person in &samples {
            println!(
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
            println!("Try: certeza --data {} registry show {}", data.display(), first.curp.as_str());
        }
        println!("Transparency log: {base_url}/log/checkpoint (verifier key {vkey})");
        println!("Audit it: certeza log audit {base_url}/log --vkey '{vkey}'");
        println!("The same is in {}.\n", path.display());
        Ok(())
    })
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
