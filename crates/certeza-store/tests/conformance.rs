//! One conformance story for every storage backend: it runs on SQLite always,
//! and on PostgreSQL when `CERTEZA_TEST_POSTGRES_URL` is set (CI sets it).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use certeza_core::{CredentialStatus, Person, PopulationGenerator};
use certeza_crypto::KeyDirectory;
use certeza_store::registry::{PersonSealer, index_field};
use certeza_store::{PersonLookup, Store, UpsertOutcome};

fn sealer(directory: &std::path::Path) -> PersonSealer {
    let keys = KeyDirectory::new(directory.join("keys"));
    keys.ensure_all(1).unwrap();
    PersonSealer::new(&keys.load().unwrap()).unwrap()
}

/// The transparency log's storage story (same binary, to keep link time down).
#[path = "conformance/log_story.rs"]
mod log_story;

/// A fresh PostgreSQL database for one test, dropped when the guard goes.
struct ThrowawayPostgres {
    admin_url: String,
    database: String,
    url: String,
}

static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);

impl ThrowawayPostgres {
    fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("CERTEZA_TEST_POSTGRES_URL") else {
            eprintln!("PostgreSQL skipped: CERTEZA_TEST_POSTGRES_URL is not set");
            return None;
        };
        let database =
            format!("certeza_conformance_{}_{}", std::process::id(), DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
        client.batch_execute(&format!("CREATE DATABASE {database}")).unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{database}");
        Some(Self { admin_url, database, url })
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database));
        }
    }
}

fn people(count: usize) -> Vec<Person> {
    PopulationGenerator::new(42).take(count).collect()
}

/// The story every backend must tell the same way.
fn registry_story(open: &dyn Fn() -> Store, sealer: &PersonSealer) {
    let store = open();
    let registry = store.registry();
    let people = people(60);
    let sealed: Vec<_> = people.iter().map(|person| sealer.seal(person)).collect();

    // An empty registry takes a bulk load: appended rows, indexes rebuilt after.
    assert!(registry.begin_bulk_load().unwrap());
    assert_eq!(registry.insert_people_bulk(&sealed[..40], 1_000).unwrap(), 40);
    registry.finish_bulk_load().unwrap();
    assert!(!registry.begin_bulk_load().unwrap(), "a registry with people is not bulk-loaded");
    registry.finish_bulk_load().unwrap();
    let found = registry.find_person(PersonLookup::Cic, &sealed[39].indexes.cic).unwrap().unwrap();
    assert_eq!(found.id, sealed[39].id);

    assert_eq!(registry.upsert_people(&sealed, 1_000).unwrap(), UpsertOutcome { written: 20, unchanged: 40 });
    assert_eq!(registry.count_people().unwrap(), 60);

    // Re-importing the same people (sealed afresh, so different ciphertexts) writes nothing.
    let resealed: Vec<_> = people.iter().map(|person| sealer.seal(person)).collect();
    assert_ne!(resealed[0].sealed, sealed[0].sealed);
    assert_eq!(registry.upsert_people(&resealed, 2_000).unwrap(), UpsertOutcome { written: 0, unchanged: 60 });

    // A changed person is updated, the rest are not.
    let mut changed = people[3].clone();
    changed.email = "nuevo.correo@example.org".to_owned();
    let mut batch = resealed.clone();
    batch[3] = sealer.seal(&changed);
    assert_eq!(registry.upsert_people(&batch, 3_000).unwrap(), UpsertOutcome { written: 1, unchanged: 59 });

    // A batch that names the same person twice keeps the last version.
    let twice = vec![sealer.seal(&people[5]), sealer.seal(&changed), sealer.seal(&people[3])];
    registry.upsert_people(&twice, 3_500).unwrap();

    // Every lookup finds the person, and opening gives back exactly what was stored.
    for person in [&people[0], &people[3], &people[59]] {
        let by_curp = registry.find_person(PersonLookup::Curp, &sealer.person_id(&person.curp)).unwrap().unwrap();
        assert_eq!(&sealer.open(&by_curp).unwrap(), person);
        let by_cic = registry
            .find_person(PersonLookup::Cic, &sealer.index_of(index_field::CIC, person.cic.as_str()))
            .unwrap()
            .unwrap();
        assert_eq!(by_cic.id, by_curp.id);
        let by_ocr = registry
            .find_person(PersonLookup::Ocr, &sealer.index_of(index_field::OCR, person.ocr.as_str()))
            .unwrap()
            .unwrap();
        assert_eq!(by_ocr.id, by_curp.id);
        let by_clave = registry
            .find_person(
                PersonLookup::ClaveElector,
                &sealer.index_of(index_field::CLAVE_ELECTOR, person.clave_elector.as_str()),
            )
            .unwrap()
            .unwrap();
        assert_eq!(by_clave.id, by_curp.id);
        assert_eq!(by_curp.indexes.first_surname, sealer.index_of(index_field::FIRST_SURNAME, &person.first_surname));
    }
    assert!(registry.find_person(PersonLookup::Cic, &[0u8; 16]).unwrap().is_none());

    // Many lookups at once find, in order, what each would find on its own:
    // every kind mixed, unknown indexes, and the same index twice.
    let mut lookups = Vec::new();
    for person in people.iter().take(12) {
        lookups.push((PersonLookup::Cic, sealer.index_of(index_field::CIC, person.cic.as_str())));
        lookups.push((PersonLookup::Curp, sealer.person_id(&person.curp)));
        lookups.push((PersonLookup::Ocr, sealer.index_of(index_field::OCR, person.ocr.as_str())));
        lookups.push((
            PersonLookup::ClaveElector,
            sealer.index_of(index_field::CLAVE_ELECTOR, person.clave_elector.as_str()),
        ));
        lookups.push((PersonLookup::Ocr, [9u8; 16]));
    }
    lookups.push(lookups[0]);
    lookups.push((PersonLookup::Curp, [0u8; 16]));
    let one_by_one: Vec<_> =
        lookups.iter().map(|(lookup, index)| registry.find_person(*lookup, index).unwrap()).collect();
    assert_eq!(registry.find_people(&lookups).unwrap(), one_by_one);
    assert_eq!(one_by_one.iter().filter(|found| found.is_some()).count(), 12 * 4 + 1);
    assert!(registry.find_people(&[]).unwrap().is_empty());

    // Status changes are kept and an unknown person is reported as such.
    let id = sealer.person_id(&people[7].curp);
    assert!(registry.set_status(&id, CredentialStatus::ReportedStolen.as_str(), 4_000).unwrap());
    assert_eq!(registry.find_person(PersonLookup::Curp, &id).unwrap().unwrap().status, "reported_stolen");
    assert!(!registry.set_status(&[1u8; 16], "cancelled", 4_000).unwrap());

    // Concurrent writers do not lose each other's rows.
    let more = PopulationGenerator::new(43).take(200).collect::<Vec<_>>();
    std::thread::scope(|scope| {
        for chunk in more.chunks(50) {
            let sealed_chunk: Vec<_> = chunk.iter().map(|person| sealer.seal(person)).collect();
            scope.spawn(move || registry.upsert_people(&sealed_chunk, 5_000).unwrap());
        }
    });
    assert_eq!(registry.count_people().unwrap(), 260);

    // Reopening applies no migration twice and keeps the data.
    drop(store);
    let reopened = open();
    assert_eq!(reopened.registry().count_people().unwrap(), 260);
}

#[test]
fn sqlite_tells_the_registry_story_and_keeps_no_clear_personal_data() {
    let directory = tempfile::tempdir().unwrap();
    let sealer = sealer(directory.path());
    let path = directory.path().join("certeza.db");
    let url = format!("sqlite://{}", path.display());
    registry_story(&|| Store::open(&url).unwrap(), &sealer);

    // Force the WAL into the main file, then look for clear values in every file.
    let store = Store::open(&url).unwrap();
    if let Store::Sqlite(sqlite) = &store {
        sqlite.with_connection(|connection| Ok(connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?)).unwrap();
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(directory.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    for person in people(60) {
        for needle in [person.curp.as_str(), person.cic.as_str(), person.ocr.as_str(), person.clave_elector.as_str()] {
            assert!(!bytes.windows(needle.len()).any(|window| window == needle.as_bytes()), "a value appears in clear");
        }
        let full_name = format!("{} {} {}", person.given_names, person.first_surname, person.second_surname);
        assert!(!bytes.windows(full_name.len()).any(|window| window == full_name.as_bytes()));
    }
}

#[test]
fn postgres_tells_the_registry_story() {
    let Some(database) = ThrowawayPostgres::create() else { return };
    let directory = tempfile::tempdir().unwrap();
    let sealer = sealer(directory.path());
    registry_story(&|| Store::open(&database.url).unwrap(), &sealer);
}

#[test]
fn unreachable_databases_are_loud_errors() {
    let Err(error) = Store::open("postgres://nobody:secret@127.0.0.1:1/nothing") else {
        panic!("connecting to a closed port must fail")
    };
    let message = error.to_string();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    let Err(error) = Store::open("sqlite:///no/such/directory/certeza.db") else {
        panic!("a missing directory must fail")
    };
    assert!(error.to_string().contains("does not exist"));
}

/// Citizen sign-in storage: rate-limit counts, one-time codes with an attempt
/// limit and expiry, single use, sessions, and the demo outbox.
fn citizen_story(store: &Store) {
    use certeza_store::citizen::NewSignInCode;
    let person = [7u8; 16];
    assert_eq!(store.record_sign_in_request(&person, 1_000, 0).unwrap(), 1);
    assert_eq!(store.record_sign_in_request(&person, 2_000, 0).unwrap(), 2);
    assert_eq!(
        store.record_sign_in_request(&person, 3_000, 2_500).unwrap(),
        1,
        "older requests fall out of the window"
    );

    let code = NewSignInCode {
        token_sha256: [1; 32],
        person_id: person,
        code_sha256: [2; 32],
        created_at_ms: 1_000,
        expires_at_ms: 301_000,
    };
    store.add_sign_in_code(&code).unwrap();
    for expected in 1..=3 {
        let attempt = store.attempt_sign_in_code(&[1; 32], 2_000, 3).unwrap().unwrap();
        assert_eq!((attempt.attempts, attempt.person_id, attempt.code_sha256), (expected, person, [2; 32]));
    }
    assert!(store.attempt_sign_in_code(&[1; 32], 2_000, 3).unwrap().is_none(), "out of attempts");

    store.add_sign_in_code(&NewSignInCode { token_sha256: [3; 32], ..code.clone() }).unwrap();
    assert!(store.attempt_sign_in_code(&[3; 32], 301_000, 5).unwrap().is_none(), "expired");
    assert!(store.attempt_sign_in_code(&[3; 32], 300_999, 5).unwrap().is_some());
    assert!(store.use_sign_in_code(&[3; 32], &person, &[9; 32], 3_000, 1_803_000).unwrap());
    assert!(!store.use_sign_in_code(&[3; 32], &person, &[8; 32], 3_000, 1_803_000).unwrap(), "single use");
    assert_eq!(store.citizen_session(&[9; 32], 1_802_999).unwrap(), Some(person));
    assert_eq!(store.citizen_session(&[9; 32], 1_803_000).unwrap(), None, "expired session");
    assert_eq!(store.citizen_session(&[8; 32], 3_000).unwrap(), None);
    store.end_citizen_session(&[9; 32]).unwrap();
    assert_eq!(store.citizen_session(&[9; 32], 4_000).unwrap(), None);
    store.purge_citizen_rows(10_000_000, 10_000_000).unwrap();
    assert_eq!(store.record_sign_in_request(&person, 10_000_001, 0).unwrap(), 1, "purged");

    store.add_outbox_message("sms", "•••• ••78", "primero", 1).unwrap();
    store.add_outbox_message("email", "m•••@example.mx", "segundo", 2).unwrap();
    let messages = store.outbox_messages(10).unwrap();
    assert_eq!(messages.iter().map(|message| message.body.as_str()).collect::<Vec<_>>(), ["segundo", "primero"]);
    assert_eq!(messages[1].destination, "•••• ••78");
}

#[test]
fn every_backend_tells_the_citizen_story() {
    let directory = tempfile::tempdir().unwrap();
    citizen_story(&Store::open(&format!("sqlite://{}", directory.path().join("citizen.db").display())).unwrap());
    if let Some(database) = ThrowawayPostgres::create() {
        citizen_story(&Store::open(&database.url).unwrap());
    }
}

/// Relying parties and verifications: registration, lookup by key hash,
/// revocation, idempotent recording with the log entry, and the citizen's list.
fn verification_story(store: &Store) {
    use certeza_store::verification::{NewVerification, Recorded};

    let key = [3u8; 32];
    let id = store.add_relying_party("Banco Uno", &key, "{\"p\":1}", 10).unwrap();
    store.add_relying_party("Banco Dos", &[4u8; 32], "{}", 11).unwrap();
    assert!(store.add_relying_party("Banco Uno", &[5u8; 32], "{}", 12).is_err(), "names are unique");
    let found = store.relying_party_by_key(&key).unwrap().unwrap();
    assert_eq!((found.id, found.name.as_str(), found.policy.as_str()), (id, "Banco Uno", "{\"p\":1}"));
    assert!(store.relying_party_by_key(&[9u8; 32]).unwrap().is_none());
    let names: Vec<String> = store.relying_parties().unwrap().into_iter().map(|party| party.name).collect();
    assert_eq!(names, ["Banco Dos", "Banco Uno"]);

    let person_id = [7u8; 16];
    let record = |verification_id: &'static str, request_id: &'static str, request_sha256: [u8; 32]| NewVerification {
        id: verification_id,
        relying_party_id: id,
        request_id,
        request_sha256,
        person_id: Some(person_id),
        subject_salt: [1u8; 16],
        purpose: "apertura-de-cuenta",
        outcome: "valid",
        reason: None,
        response: "{\"outcome\":\"valid\"}",
        created_at_ms: 1_000,
    };
    let first = store.record_verification(&record("ver_1", "r-1", [1u8; 32]), b"entry-1", 5_000).unwrap();
    let Recorded::New { pending_id } = first else { panic!("the first answer is new") };
    assert_eq!(store.verification_log_pending_id(id, "ver_1").unwrap(), Some(pending_id));
    // The same request id again, alone or inside a batch, gives the stored answer.
    let again = store.record_verification(&record("ver_2", "r-1", [1u8; 32]), b"entry-2", 5_000).unwrap();
    assert!(matches!(again, Recorded::Existing(ref stored) if stored.response == "{\"outcome\":\"valid\"}"));
    let batch = store
        .record_verifications(
            &[
                (record("ver_3", "r-3", [3u8; 32]), b"entry-3".as_slice()),
                (record("ver_4", "r-3", [3u8; 32]), b"entry-4"),
            ],
            5_000,
        )
        .unwrap();
    assert!(matches!(batch[0], Recorded::New { .. }));
    assert!(matches!(batch[1], Recorded::Existing(_)));
    let listing = store.verifications_for_person(&person_id).unwrap();
    assert_eq!(listing.len(), 2);
    assert!(listing.iter().all(|entry| entry.relying_party_name == "Banco Uno"));

    assert!(store.revoke_relying_party("Banco Uno", 20).unwrap());
    assert!(!store.revoke_relying_party("Banco Uno", 21).unwrap(), "already revoked");
    assert_eq!(store.relying_party_by_key(&key).unwrap().unwrap().revoked_at_ms, Some(20));
}

#[test]
fn every_backend_tells_the_verification_story() {
    let directory = tempfile::tempdir().unwrap();
    verification_story(&Store::open(&format!("sqlite://{}", directory.path().join("rp.db").display())).unwrap());
    if let Some(database) = ThrowawayPostgres::create() {
        verification_story(&Store::open(&database.url).unwrap());
    }
}
