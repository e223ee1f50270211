//! `POST /v1/verifications`: relying parties check that a presented credential
//! is real and get a yes/no answer, never a stored value.
//!
//! The hot path never decrypts: the presented fields are turned into blind
//! indexes and compared with the stored ones. Every answer is recorded with its
//! transparency-log entry in one transaction (queued submission), and carries
//! a signed receipt that commits to that entry's leaf hash; the inclusion
//! proof is fetched later from `GET /v1/verifications/{id}/proof`.
//!
//! Receipts are signed once per group commit: the receipt statements of the
//! answers committed together are the leaves of a Merkle tree (RFC 6962
//! hashing), whose root the writer signs (a JWS, EdDSA); each answer carries
//! its statement, its place in that tree with the inclusion path, and the
//! signature ([`verify_receipt`] checks one). An Ed25519 signature was a
//! seventh of the server's CPU time per verification when every answer was
//! signed on its own (BENCHMARKS.md, seventh session). A path holds hashes
//! of other answers' statements, possibly other relying parties'; each
//! statement names a verification id with 80 random bits, so a hash reveals
//! nothing of it, and a receipt tells only how many answers were committed
//! with its own.

use certeza_crypto::to_hex as hex;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use certeza_core::{Cic, ClaveElector, Clock, CredentialStatus, Curp, Date, EmissionNumber, Ocr};
use certeza_log::entry::LogEntry;
use certeza_log::merkle::{Hash, hash_leaf, inclusion_root, prove_record, stored_hashes_of_leaves, tree_hash};
use certeza_store::log::LogStore;
use certeza_store::registry::{PersonSealer, index_field};
use certeza_store::verification::{NewVerification, Recorded, RelyingParty, StoredResponse};
use certeza_store::{PersonLookup, SealedPerson};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

use crate::tls::ClientCertificate;
use crate::{AppError, AppState, constant_time_equal, problem_response, sha256};

/// How long a relying party's policy is cached before it is read again (so a
/// revocation made by the CLI takes effect within this delay).
const POLICY_CACHE_TTL_MILLIS: u64 = 30_000;

/// How many recent answers the enumeration defence looks at per relying party.
const ENUMERATION_WINDOW: usize = 200;

/// How long a relying party that crossed its enumeration threshold is throttled.
const ENUMERATION_BLOCK_MILLIS: u64 = 60_000;

/// What the verification service needs beyond the store.
pub struct VerificationContext {
    /// Computes blind indexes of presented values (and the person id).
    pub sealer: Arc<PersonSealer>,
    /// Signs the receipts given to relying parties.
    pub receipt_key: SigningKey,
    /// The log's origin, named in receipts.
    pub log_origin: String,
    /// The maximum merge delay promised for the log entry.
    pub max_merge_delay_millis: u64,
    relying_parties: Mutex<HashMap<[u8; 32], Arc<RelyingPartyRuntime>>>,
    /// One gate per API key being loaded from the database, held during the
    /// load, so that the many requests arriving together with one key after
    /// a start (or a policy reload) make one lookup instead of one each.
    /// Loads of different keys (an unknown key included) never wait for each
    /// other.
    relying_party_loading: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    writer: std::sync::OnceLock<std::sync::mpsc::Sender<WriteRequest>>,
    /// The registry lookups of a network database, answered in batches.
    lookups: std::sync::OnceLock<std::sync::mpsc::Sender<LookupRequest>>,
    /// The receipt key's id (see [`VerificationContext::receipt_key_id`]).
    receipt_key_id: String,
    /// The base64url JWS protected header of receipts signed on their own
    /// (stored format 2) by this key.
    receipt_header: String,
    /// The base64url JWS protected header of batch receipts signed by this key.
    batch_receipt_header: String,
}

/// The base64url JWS protected header of a receipt signed on its own (the
/// stored format 2) by the key `key_id`.
fn receipt_header(key_id: &str) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "kid": key_id, "typ": "certeza-verification+jws" });
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// The JWS `typ` of a batch receipt's signature.
const BATCH_RECEIPT_TYPE: &str = "certeza-verification-batch+jws";

/// The base64url JWS protected header of a batch receipt's signature by the key `key_id`.
fn batch_receipt_header(key_id: &str) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "kid": key_id, "typ": BATCH_RECEIPT_TYPE });
    URL_SAFE_NO_PAD.encode(header.to_string())
}

/// What the group-commit writer signs batch receipts with.
#[derive(Clone)]
struct ReceiptSigner {
    key: SigningKey,
    key_id: String,
    batch_header: String,
}

/// A registry lookup waiting for a lookup thread.
struct LookupRequest {
    lookup: PersonLookup,
    index: [u8; 16],
    reply: tokio::sync::oneshot::Sender<Result<Option<SealedPerson>, String>>,
}

/// Most lookups asked of the database at once.
const LOOKUP_BATCH_MAX: usize = 256;

/// Threads asking the database for lookups: while one waits for an answer,
/// the next batch gathers behind another.
const LOOKUP_THREADS: usize = 2;

/// Lookup threads for a network database (PostgreSQL): each takes every
/// lookup waiting, asks for them in one round trip per kind of lookup
/// ([`certeza_store::RegistryStore::find_people`]) and answers each. One
/// query per verification made the database's processes spend most of their
/// time being woken and answering small queries (BENCHMARKS.md).
fn spawn_lookup_threads(store: Arc<certeza_store::Store>) -> std::sync::mpsc::Sender<LookupRequest> {
    let (sender, receiver) = std::sync::mpsc::channel::<LookupRequest>();
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..LOOKUP_THREADS {
        let (receiver, store) = (receiver.clone(), store.clone());
        let spawned = std::thread::Builder::new().name("registry-lookup".to_owned()).spawn(move || {
            loop {
                let batch = {
                    let receiver = receiver.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    let Ok(first) = receiver.recv() else { return };
                    let mut batch = vec![first];
                    while batch.len() < LOOKUP_BATCH_MAX {
                        match receiver.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    batch
                };
                let lookups: Vec<(PersonLookup, [u8; 16])> =
                    batch.iter().map(|request| (request.lookup, request.index)).collect();
                match store.registry().find_people(&lookups) {
                    Ok(found) if found.len() == batch.len() => {
                        for (request, person) in batch.into_iter().zip(found) {
                            let _ = request.reply.send(Ok(person));
                        }
                    }
                    Ok(_) => batch.into_iter().for_each(|request| {
                        let _ = request.reply.send(Err("a lookup batch lost an answer".to_owned()));
                    }),
                    Err(error) => batch.into_iter().for_each(|request| {
                        let _ = request.reply.send(Err(error.to_string()));
                    }),
                }
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "a registry lookup thread could not start");
        }
    }
    sender
}

/// A verification waiting for the group-commit writer.
struct WriteRequest {
    record: OwnedVerification,
    /// The answer's parts; the writer adds its place in the batch receipt.
    answer: StoredAnswer,
    /// The leaf hash of the answer's receipt statement.
    statement_leaf: Hash,
    entry: Vec<u8>,
    reply: tokio::sync::oneshot::Sender<Result<Written, String>>,
}

/// What the writer did with one verification.
enum Written {
    /// Recorded: the answer's parts, its batch receipt included.
    New(Box<StoredAnswer>),
    /// The relying party already asked with this request id: the earlier answer.
    Existing(StoredResponse),
}

struct OwnedVerification {
    id: String,
    relying_party_id: i64,
    request_id: String,
    request_sha256: [u8; 32],
    person_id: Option<[u8; 16]>,
    subject_salt: [u8; 16],
    purpose: String,
    outcome: &'static str,
    reason: Option<&'static str>,
    response: String,
    created_at_ms: u64,
}

impl OwnedVerification {
    fn borrowed(&self) -> NewVerification<'_> {
        NewVerification {
            id: &self.id,
            relying_party_id: self.relying_party_id,
            request_id: &self.request_id,
            request_sha256: self.request_sha256,
            person_id: self.person_id,
            subject_salt: self.subject_salt,
            purpose: &self.purpose,
            outcome: self.outcome,
            reason: self.reason,
            response: &self.response,
            created_at_ms: self.created_at_ms,
        }
    }
}

/// Most verifications written in one transaction.
const GROUP_COMMIT_MAX: usize = 512;

/// The shortest time between two group commits. At 1 ms rather than 2 ms
/// the median answer at a steady 10,000/s came 1.2 ms sooner (2.3–2.6 ms
/// against 3.7 ms) with no change in throughput at saturation, once the WAL
/// restarts no longer stalled the writer for tens of milliseconds
/// (BENCHMARKS.md, sixth session).
const GROUP_COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_micros(1000);

/// Answers written to the database but not yet synced to disk, with the
/// requests waiting for them.
type WrittenBatch = Vec<(tokio::sync::oneshot::Sender<Result<Written, String>>, Result<Written, String>)>;

/// The body of a batch receipt's JWS: the root of the batch's tree of
/// receipt statements and its size.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchStatement {
    root: String,
    size: u64,
}

/// The JWS signing input of a batch receipt: `header` and the
/// [`BatchStatement`] of a tree of `size` statements with root `root`. The
/// writer signs it and every rendering of an answer rebuilds it, byte for byte.
fn batch_signing_input(header: &str, root: &Hash, size: u64) -> Result<String, serde_json::Error> {
    let statement = serde_json::to_vec(&BatchStatement { root: URL_SAFE_NO_PAD.encode(root), size })?;
    Ok(jws_signing_input(header, &statement))
}

/// Signs one batch of answers' receipts: builds the Merkle tree of their
/// statements, signs its root once, and gives each answer its place, its
/// inclusion path and the signature, then the text its row stores.
fn seal_batch(signer: &ReceiptSigner, requests: &mut [WriteRequest]) -> Result<(), String> {
    let leaves: Vec<Hash> = requests.iter().map(|request| request.statement_leaf).collect();
    let stored_hashes = stored_hashes_of_leaves(&leaves).map_err(|error| error.to_string())?;
    let size = leaves.len() as u64;
    let root = tree_hash(size, &stored_hashes).map_err(|error| error.to_string())?;
    let signing_input = batch_signing_input(&signer.batch_header, &root, size).map_err(|error| error.to_string())?;
    let signature = URL_SAFE_NO_PAD.encode(signer.key.sign(signing_input.as_bytes()).to_bytes());
    for (index, request) in (0u64..).zip(requests.iter_mut()) {
        let path = prove_record(size, index, &stored_hashes).map_err(|error| error.to_string())?;
        let answer = &mut request.answer;
        answer.format = STORED_ANSWER_FORMAT;
        answer.batch_index = index;
        answer.batch_size = size;
        answer.batch_path = URL_SAFE_NO_PAD.encode(path.concat());
        answer.receipt_key_id.clone_from(&signer.key_id);
        answer.signature.clone_from(&signature);
        request.record.response = serde_json::to_string(answer).map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// Records one batch with the store (without waiting for the disk): each
/// request's result, in order.
fn record_batch(
    store: &certeza_store::Store,
    signer: &ReceiptSigner,
    mut batch: Vec<WriteRequest>,
    max_merge_delay_millis: u64,
) -> WrittenBatch {
    let recorded = seal_batch(signer, &mut batch).and_then(|()| {
        let items: Vec<(NewVerification<'_>, &[u8])> =
            batch.iter().map(|request| (request.record.borrowed(), request.entry.as_slice())).collect();
        store.record_verifications_before_sync(&items, max_merge_delay_millis).map_err(|error| error.to_string())
    });
    match recorded {
        Ok(results) if results.len() == batch.len() => batch
            .into_iter()
            .zip(results)
            .map(|(request, result)| {
                let written = match result {
                    Recorded::New { .. } => Written::New(Box::new(request.answer)),
                    Recorded::Existing(stored) => Written::Existing(stored),
                };
                (request.reply, Ok(written))
            })
            .collect(),
        Ok(_) => {
            batch.into_iter().map(|request| (request.reply, Err("a recorded batch lost an item".to_owned()))).collect()
        }
        Err(error) if batch.len() == 1 => {
            batch.into_iter().map(|request| (request.reply, Err(error.clone()))).collect()
        }
        // One bad item (e.g. a concurrent duplicate) must not fail the
        // others: each again on its own, in a batch (and receipt) of one.
        Err(_) => batch
            .into_iter()
            .flat_map(|request| record_batch(store, signer, vec![request], max_merge_delay_millis))
            .collect(),
    }
}

/// The pipelined group commit. The writer thread takes every verification
/// waiting and commits them, with their log entries, in one transaction
/// without waiting for the disk; the sync thread then makes everything
/// committed so far durable with one sync and only then answers the
/// requests. While the disk syncs one batch, the writer already commits the
/// next, and one sync covers every batch committed meanwhile.
///
/// Architecture Invariant: no request is answered before the commit that
/// recorded it is durable.
fn spawn_writer(
    store: Arc<certeza_store::Store>,
    signer: ReceiptSigner,
    max_merge_delay_millis: u64,
) -> std::sync::mpsc::Sender<WriteRequest> {
    let (sender, receiver) = std::sync::mpsc::channel::<WriteRequest>();
    let (to_sync, sync_queue) = std::sync::mpsc::channel::<WrittenBatch>();
    let syncing_store = store.clone();
    let syncer = std::thread::Builder::new().name("verification-sync".to_owned()).spawn(move || {
        while let Ok(first) = sync_queue.recv() {
            let mut waiting = first;
            while let Ok(more) = sync_queue.try_recv() {
                waiting.extend(more);
            }
            let started = std::time::Instant::now();
            let synced = syncing_store.sync_committed_writes();
            tracing::debug!(answers = waiting.len(), micros = started.elapsed().as_micros() as u64, "durable");
            for (reply, result) in waiting {
                let answer = match &synced {
                    Ok(()) => result,
                    Err(error) => Err(error.to_string()),
                };
                let _ = reply.send(answer);
            }
        }
    });
    if let Err(error) = syncer {
        tracing::error!(%error, "the verification sync thread could not start");
    }
    let spawned = std::thread::Builder::new().name("verification-writer".to_owned()).spawn(move || {
        let mut last_commit = std::time::Instant::now();
        while let Ok(first) = receiver.recv() {
            // Commits are paced: a commit resets the page cache of every
            // connection reading the registry and rewrites the pages it
            // touches, so a few larger commits cost much less than many
            // small ones, for at most GROUP_COMMIT_INTERVAL more latency.
            let next_commit = last_commit + GROUP_COMMIT_INTERVAL;
            let now = std::time::Instant::now();
            if next_commit > now {
                std::thread::sleep(next_commit - now);
            }
            last_commit = std::time::Instant::now();
            let mut batch = vec![first];
            while batch.len() < GROUP_COMMIT_MAX {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let started = std::time::Instant::now();
            let size = batch.len();
            let written = record_batch(&store, &signer, batch, max_merge_delay_millis);
            tracing::debug!(batch = size, micros = started.elapsed().as_micros() as u64, "group commit");
            if let Err(unsent) = to_sync.send(written) {
                for (reply, _) in unsent.0 {
                    let _ = reply.send(Err("the verification sync thread stopped".to_owned()));
                }
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "the verification writer thread could not start");
    }
    sender
}

impl VerificationContext {
    /// Creates the context.
    pub fn new(
        sealer: Arc<PersonSealer>,
        receipt_key: SigningKey,
        log_origin: String,
        max_merge_delay_millis: u64,
    ) -> Self {
        let key_id = hex(&sha256(receipt_key.verifying_key().as_bytes())[..8]);
        let receipt_header = receipt_header(&key_id);
        let batch_receipt_header = batch_receipt_header(&key_id);
        Self {
            sealer,
            receipt_key,
            log_origin,
            max_merge_delay_millis,
            relying_parties: Mutex::new(HashMap::new()),
            relying_party_loading: Mutex::new(HashMap::new()),
            writer: std::sync::OnceLock::new(),
            lookups: std::sync::OnceLock::new(),
            receipt_key_id: key_id,
            receipt_header,
            batch_receipt_header,
        }
    }

    /// The key id of the receipt key: hex of the first 8 bytes of SHA-256 of the public key.
    pub fn receipt_key_id(&self) -> String {
        self.receipt_key_id.clone()
    }
}

/// A relying party's policy, stored as JSON.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Purposes it may declare.
    pub purposes: Vec<String>,
    /// Fields it may present.
    pub fields: Vec<String>,
    /// Whether answers include per-field booleans.
    pub field_booleans: bool,
    /// Verifications per second (token bucket, burst of one second).
    pub rate_per_second: u32,
    /// Verifications per UTC day.
    pub daily_quota: u64,
    /// Share of not-found/mismatch answers above which it is throttled (0–1).
    pub enumeration_threshold: f64,
    /// Answers needed in the window before the threshold applies.
    pub enumeration_min_requests: u32,
    /// The SHA-256 (hex) of the client certificate the relying party must
    /// present over mutual TLS on every call; `None`: the API key alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_sha256: Option<String>,
}

/// Every field a relying party may present.
pub const ALL_FIELDS: [&str; 9] =
    ["curp", "cic", "ocr", "clave_elector", "emission", "given_names", "first_surname", "second_surname", "birth_date"];

struct RelyingPartyRuntime {
    party: RelyingParty,
    policy: Policy,
    loaded_at_ms: u64,
    limits: Mutex<Limits>,
}

#[derive(Default)]
struct Limits {
    tokens: f64,
    refilled_at_ms: u64,
    day: u64,
    used_today: u64,
    recent_failures: VecDeque<bool>,
    blocked_until_ms: u64,
}

/// The presented credential fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresentedFields {
    curp: Option<String>,
    cic: Option<String>,
    ocr: Option<String>,
    clave_elector: Option<String>,
    emission: Option<String>,
    given_names: Option<String>,
    first_surname: Option<String>,
    second_surname: Option<String>,
    birth_date: Option<String>,
}

/// The citizen's consent, as the relying party obtained it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Consent {
    reference: String,
    obtained_at: String,
    method: String,
}

/// The body of `POST /v1/verifications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerificationRequest {
    request_id: String,
    purpose: String,
    consent: Option<Consent>,
    fields: PresentedFields,
}

/// Formats unix milliseconds as RFC 3339 UTC (`2026-11-23T04:05:06.789Z`).
pub fn rfc3339(unix_millis: u64) -> String {
    let seconds = unix_millis / 1000;
    let date = Date::from_days((seconds / 86_400) as i64).unwrap_or(Date::UNIX_EPOCH);
    let in_day = seconds % 86_400;
    format!("{date}T{:02}:{:02}:{:02}.{:03}Z", in_day / 3600, in_day % 3600 / 60, in_day % 60, unix_millis % 1000)
}

/// Loose RFC 3339 shape check: `YYYY-MM-DDTHH:MM:SS` then a fraction and a zone.
fn looks_like_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.len() > 40 {
        return false;
    }
    let Some(date) = text.get(..10) else { return false };
    let time_ok = bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && [11, 12, 14, 15, 17, 18].iter().all(|&position| bytes[position].is_ascii_digit());
    let zone = &text[19..];
    let zone = zone.strip_prefix('.').map_or(zone, |rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()));
    let zone_ok = zone == "Z"
        || (zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) && zone.as_bytes()[3] == b':');
    Date::parse_iso(date).is_ok() && time_ok && zone_ok
}

fn bad(detail: impl Into<String>) -> AppError {
    AppError::BadRequest(detail.into())
}

/// A validated, normalised presentation: field name → normalised value.
struct Presentation {
    values: Vec<(&'static str, String)>,
}

fn validate_fields(fields: PresentedFields, policy: &Policy) -> Result<Presentation, AppError> {
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let mut take = |name: &'static str, value: Option<String>| -> Result<(), AppError> {
        let Some(value) = value else { return Ok(()) };
        if !policy.fields.iter().any(|allowed| allowed == name) {
            return Err(AppError::Forbidden(format!("your policy does not allow checking the field {name}")));
        }
        let trimmed = value.trim();
        let valid = match name {
            "curp" => Curp::parse(trimmed).is_ok(),
            "cic" => Cic::parse(trimmed).is_ok(),
            "ocr" => Ocr::parse(trimmed).is_ok(),
            "clave_elector" => ClaveElector::parse(trimmed).is_ok(),
            "emission" => EmissionNumber::parse(trimmed).is_ok(),
            "birth_date" => Date::parse_iso(trimmed).is_ok(),
            _ => !trimmed.is_empty() && trimmed.chars().count() <= 60,
        };
        if !valid {
            return Err(bad(format!("fields.{name} is not well-formed")));
        }
        values.push((name, trimmed.to_owned()));
        Ok(())
    };
    take("curp", fields.curp)?;
    take("cic", fields.cic)?;
    take("ocr", fields.ocr)?;
    take("clave_elector", fields.clave_elector)?;
    take("emission", fields.emission)?;
    take("given_names", fields.given_names)?;
    take("first_surname", fields.first_surname)?;
    take("second_surname", fields.second_surname)?;
    take("birth_date", fields.birth_date)?;
    if !values.iter().any(|(name, _)| matches!(*name, "curp" | "cic" | "ocr" | "clave_elector")) {
        return Err(bad("present at least one of fields.curp, fields.cic, fields.ocr, fields.clave_elector"));
    }
    Ok(Presentation { values })
}

fn stored_index<'a>(person: &'a SealedPerson, field: &str) -> Option<&'a [u8; 16]> {
    Some(match field {
        "curp" => &person.id,
        "cic" => &person.indexes.cic,
        "ocr" => &person.indexes.ocr,
        "clave_elector" => &person.indexes.clave_elector,
        "emission" => &person.indexes.emission,
        "given_names" => &person.indexes.given_names,
        "first_surname" => &person.indexes.first_surname,
        "second_surname" => &person.indexes.second_surname,
        "birth_date" => &person.indexes.birth_date,
        _ => return None,
    })
}

fn presented_index(sealer: &PersonSealer, field: &str, value: &str) -> [u8; 16] {
    match field {
        "curp" => Curp::parse(value).map(|curp| sealer.person_id(&curp)).unwrap_or([0; 16]),
        "cic" => sealer.index_of(index_field::CIC, value),
        "ocr" => sealer.index_of(index_field::OCR, value),
        "clave_elector" => sealer.index_of(index_field::CLAVE_ELECTOR, value),
        "emission" => sealer.index_of(index_field::EMISSION, value),
        "given_names" => sealer.index_of(index_field::GIVEN_NAMES, value),
        "first_surname" => sealer.index_of(index_field::FIRST_SURNAME, value),
        "second_surname" => sealer.index_of(index_field::SECOND_SURNAME, value),
        _ => sealer.index_of(index_field::BIRTH_DATE, value),
    }
}

fn too_many_requests(retry_after_seconds: u64, detail: &'static str) -> AppError {
    AppError::TooManyRequests { retry_after_seconds, detail }
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    client_certificate: Option<&ClientCertificate>,
) -> Result<Arc<RelyingPartyRuntime>, AppError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    let key_hash = sha256(presented.as_bytes());
    let now = state.clock.now_unix_millis();
    let context = &state.verification;
    let cached = || {
        context
            .relying_parties
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key_hash)
            .filter(|runtime| now.saturating_sub(runtime.loaded_at_ms) < POLICY_CACHE_TTL_MILLIS)
            .cloned()
    };
    let mut found = cached();
    let mut gate = None;
    if found.is_none() {
        let waiting = gate.insert(LoadingGate::enter(&context.relying_party_loading, key_hash));
        waiting.wait_for_turn().await;
        // Another request with this key may have loaded it meanwhile.
        found = cached();
    }
    let runtime = match found {
        Some(runtime) => runtime,
        None => {
            let store = state.store.clone();
            let party = tokio::task::spawn_blocking(move || store.relying_party_by_key(&key_hash))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?
                .ok_or(AppError::Unauthorized)?;
            let policy: Policy = serde_json::from_str(&party.policy).map_err(AppError::internal)?;
            let mut map = context.relying_parties.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Keep the rate-limit state of a relying party across policy reloads.
            let limits = map
                .get(&key_hash)
                .map(|old| std::mem::take(&mut *old.limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner())))
                .unwrap_or_default();
            let runtime =
                Arc::new(RelyingPartyRuntime { party, policy, loaded_at_ms: now, limits: Mutex::new(limits) });
            map.insert(key_hash, runtime.clone());
            runtime
        }
    };
    drop(gate);
    // Keys are looked up by their SHA-256: a timing difference in the lookup
    // reveals nothing about a high-entropy key.
    if runtime.party.revoked_at_ms.is_some() {
        return Err(AppError::Unauthorized);
    }
    // A relying party bound to a client certificate is served only over a
    // mutual-TLS connection that presented that certificate.
    if let Some(bound) = &runtime.policy.client_certificate_sha256 {
        let presented = client_certificate.and_then(|certificate| certificate.0).map(|fingerprint| hex(&fingerprint));
        if !presented.is_some_and(|presented| constant_time_equal(presented.as_bytes(), bound.as_bytes())) {
            return Err(AppError::Unauthorized);
        }
    }
    Ok(runtime)
}

/// A request's place at the gate of one API key while that key's relying
/// party is loaded (see `VerificationContext::relying_party_loading`). On
/// every way out (loaded, unknown key, error, the request dropped while it
/// waited) the last request through the gate removes it, so the map holds
/// only keys being loaded right now.
struct LoadingGate<'a> {
    gates: &'a Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    key_hash: [u8; 32],
    gate: Arc<tokio::sync::Mutex<()>>,
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<'a> LoadingGate<'a> {
    fn enter(gates: &'a Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>, key_hash: [u8; 32]) -> Self {
        let gate = gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(key_hash).or_default().clone();
        Self { gates, key_hash, gate, turn: None }
    }

    async fn wait_for_turn(&mut self) {
        self.turn = Some(self.gate.clone().lock_owned().await);
    }
}

impl Drop for LoadingGate<'_> {
    fn drop(&mut self) {
        self.turn = None;
        let mut gates = self.gates.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // One reference is the map's and one is ours: nobody else waits.
        if Arc::strong_count(&self.gate) == 2 {
            gates.remove(&self.key_hash);
        }
    }
}

/// Applies the rate limit, the daily quota and the enumeration block.
fn admit(runtime: &RelyingPartyRuntime, now_ms: u64) -> Result<(), AppError> {
    let mut limits = runtime.limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if limits.blocked_until_ms > now_ms {
        let wait = (limits.blocked_until_ms - now_ms).div_ceil(1000);
        return Err(too_many_requests(wait, "throttled: too many not-found or mismatched verifications"));
    }
    let day = now_ms / 86_400_000;
    if limits.day != day {
        limits.day = day;
        limits.used_today = 0;
    }
    if limits.used_today >= runtime.policy.daily_quota {
        let wait = ((day + 1) * 86_400_000 - now_ms).div_ceil(1000);
        return Err(too_many_requests(wait, "the daily quota of verifications is used up"));
    }
    let rate = f64::from(runtime.policy.rate_per_second.max(1));
    let elapsed = now_ms.saturating_sub(limits.refilled_at_ms) as f64 / 1000.0;
    limits.tokens = (limits.tokens + elapsed * rate).min(rate);
    limits.refilled_at_ms = now_ms;
    if limits.tokens < 1.0 {
        return Err(too_many_requests(1, "the rate of verifications is above the policy's limit"));
    }
    limits.tokens -= 1.0;
    limits.used_today += 1;
    Ok(())
}

/// Records an answer for the enumeration defence; returns the failure share
/// when this answer made the relying party cross its threshold.
fn note_outcome(runtime: &RelyingPartyRuntime, failed: bool, now_ms: u64) -> Option<f64> {
    let mut limits = runtime.limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    limits.recent_failures.push_back(failed);
    if limits.recent_failures.len() > ENUMERATION_WINDOW {
        limits.recent_failures.pop_front();
    }
    let total = limits.recent_failures.len();
    if total < runtime.policy.enumeration_min_requests as usize {
        return None;
    }
    let failures = limits.recent_failures.iter().filter(|failed| **failed).count();
    let share = failures as f64 / total as f64;
    if share > runtime.policy.enumeration_threshold && limits.blocked_until_ms <= now_ms {
        limits.blocked_until_ms = now_ms + ENUMERATION_BLOCK_MILLIS;
        limits.recent_failures.clear();
        return Some(share);
    }
    None
}

/// The JWS signing input `HEADER.PAYLOAD` (base64url), with room for the
/// signature that follows it in the compact serialisation.
fn jws_signing_input(header: &str, payload: &[u8]) -> String {
    let mut jws = String::with_capacity(header.len() + payload.len() * 4 / 3 + 96);
    jws.push_str(header);
    jws.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
    jws
}

/// Serialises an answer or a receipt payload to JSON bytes.
fn to_json(value: &impl Serialize) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::with_capacity(512);
    serde_json::to_writer(&mut bytes, value).map_err(AppError::internal)?;
    Ok(bytes)
}

/// Per-field results, as a JSON object of booleans (sorted by field name).
#[derive(Clone, Copy)]
struct FieldResults<'a>(&'a [(&'a str, bool)]);

impl Serialize for FieldResults<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (field, matched) in self.0 {
            map.serialize_entry(field, matched)?;
        }
        map.end()
    }
}

/// The answer to a verification. The keys are in alphabetical order (as in
/// every answer given so far, which replays return byte for byte); the
/// answer without `log` and `receipt` is what the log entry's details hash
/// commits to.
#[derive(Clone, Copy, Serialize)]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<FieldResults<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<AnswerLog<'a>>,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<ReceiptView<'a>>,
    verification_id: &'a str,
}

/// An answer's receipt: a compact JWS for answers signed on their own
/// (stored format 2), a batch receipt since.
#[derive(Clone, Copy, Serialize)]
#[serde(untagged)]
enum ReceiptView<'a> {
    Compact(&'a str),
    Batch(BatchReceipt<'a>),
}

/// A batch receipt as the answer carries it (keys in alphabetical order).
#[derive(Clone, Copy, Serialize)]
struct BatchReceipt<'a> {
    /// Where the statement sits in the batch's tree.
    batch: BatchPlace<'a>,
    /// The compact JWS over the [`BatchStatement`] of the batch's tree.
    signature: &'a str,
    /// The receipt statement ([`ReceiptPayload`]'s JSON), base64url: the
    /// tree's leaf is SHA-256(0x00 ‖ these bytes).
    statement: &'a str,
}

/// A statement's place in its batch's tree: leaf index, inclusion path
/// (RFC 9162 §2.1.3, from the leaf's sibling up, base64url) and tree size.
#[derive(Clone, Copy, Serialize)]
struct BatchPlace<'a> {
    index: u64,
    path: &'a [String],
    size: u64,
}

/// Where the answer's log entry is and where its proof will be.
#[derive(Clone, Copy, Serialize)]
struct AnswerLog<'a> {
    leaf_hash: &'a str,
    promised_by: &'a str,
    proof: &'a str,
}

/// The receipt's statement: what its signature covers, through the batch tree
/// since format 3 (keys in alphabetical order).
#[derive(Serialize)]
struct ReceiptPayload<'a> {
    fields: Option<FieldResults<'a>>,
    log: ReceiptLog<'a>,
    outcome: &'a str,
    purpose: &'a str,
    reason: Option<&'a str>,
    relying_party: &'a str,
    request_id: &'a str,
    time: &'a str,
    verification_id: &'a str,
}

/// The log entry a receipt commits to.
#[derive(Serialize)]
struct ReceiptLog<'a> {
    leaf_hash: &'a str,
    origin: &'a str,
    promised_by: &'a str,
}

/// What is stored of an answer (the `response` column): the parts it was
/// rendered from, so that a repeated request id gets it again byte for byte
/// from the same code ([`StoredAnswer::answer_text`] renders every answer,
/// the first time too). It is about 40% of the answer's size (411 of 1,035
/// bytes in the benchmark): storing whole answers made each verification's
/// commit write that much more, and the WAL restarts that the extra volume
/// made more frequent were the latency tail (BENCHMARKS.md). Rows recorded
/// before this format hold the answer's JSON text itself and are replayed as
/// they are. The keys are short because every verification stores them.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredAnswer {
    /// The format of this record: [`STORED_ANSWER_FORMAT`].
    #[serde(rename = "v")]
    format: u8,
    #[serde(rename = "id")]
    verification_id: String,
    #[serde(rename = "rq")]
    request_id: String,
    /// The relying party's name, as its receipt names it.
    #[serde(rename = "rp")]
    relying_party: String,
    #[serde(rename = "pu")]
    purpose: String,
    #[serde(rename = "o")]
    outcome: String,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The per-field results, when the answer included them.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<(String, bool)>>,
    #[serde(rename = "t")]
    time_unix_millis: u64,
    #[serde(rename = "pb")]
    promised_by_unix_millis: u64,
    /// The log entry's leaf hash, base64 as in the answer.
    #[serde(rename = "lh")]
    leaf_hash: String,
    #[serde(rename = "lo")]
    log_origin: String,
    /// The id of the key that signed the receipt (it names it in the JWS header).
    #[serde(rename = "k")]
    receipt_key_id: String,
    /// The receipt's signature, base64url as in the JWS (of the batch since format 3).
    #[serde(rename = "s")]
    signature: String,
    /// Format 3: the answer's leaf index in its batch's tree.
    #[serde(rename = "bi", default)]
    batch_index: u64,
    /// Format 3: the size of that tree.
    #[serde(rename = "bn", default)]
    batch_size: u64,
    /// Format 3: the inclusion path, its hashes concatenated, base64url.
    #[serde(rename = "bp", default)]
    batch_path: String,
}

/// The format number of a [`StoredAnswer`]: format 1 was the answer's whole
/// text, format 2 an answer whose receipt was signed on its own, format 3 a
/// batch receipt.
const STORED_ANSWER_FORMAT: u8 = 3;

/// The stored format of answers whose receipt was signed on its own.
const STORED_ANSWER_FORMAT_SINGLE: u8 = 2;

impl StoredAnswer {
    fn field_results(&self) -> Option<Vec<(&str, bool)>> {
        self.fields.as_ref().map(|fields| fields.iter().map(|(field, matched)| (field.as_str(), *matched)).collect())
    }

    /// The receipt's payload: the JSON the receipt's signature covers.
    fn receipt_payload(&self) -> Result<Vec<u8>, AppError> {
        let fields = self.field_results();
        to_json(&ReceiptPayload {
            fields: fields.as_deref().map(FieldResults),
            log: ReceiptLog {
                leaf_hash: &self.leaf_hash,
                origin: &self.log_origin,
                promised_by: &rfc3339(self.promised_by_unix_millis),
            },
            outcome: &self.outcome,
            purpose: &self.purpose,
            reason: self.reason.as_deref(),
            relying_party: &self.relying_party,
            request_id: &self.request_id,
            time: &rfc3339(self.time_unix_millis),
            verification_id: &self.verification_id,
        })
    }

    /// The answer's JSON text, the first time and on every replay. Headers
    /// of the context's own key are reused; a key since rotated gets its own.
    fn render(&self, context: &VerificationContext) -> Result<String, AppError> {
        self.render_with_statement(context, self.receipt_payload()?)
    }

    /// [`StoredAnswer::render`] given the receipt's statement
    /// ([`StoredAnswer::receipt_payload`]), which a new answer has made already.
    fn render_with_statement(&self, context: &VerificationContext, statement: Vec<u8>) -> Result<String, AppError> {
        let own_key = self.receipt_key_id == context.receipt_key_id;
        if self.format == STORED_ANSWER_FORMAT_SINGLE {
            let header = if own_key { context.receipt_header.clone() } else { receipt_header(&self.receipt_key_id) };
            let mut receipt = jws_signing_input(&header, &statement);
            receipt.push('.');
            receipt.push_str(&self.signature);
            return self.answer_text(ReceiptView::Compact(&receipt));
        }
        let path_bytes = URL_SAFE_NO_PAD.decode(&self.batch_path).map_err(AppError::internal)?;
        let path: Vec<&[u8]> = path_bytes.chunks(32).collect();
        let root = inclusion_root(self.batch_index, self.batch_size, &hash_leaf(&statement), &path)
            .map_err(AppError::internal)?;
        let header =
            if own_key { context.batch_receipt_header.clone() } else { batch_receipt_header(&self.receipt_key_id) };
        let mut signature = batch_signing_input(&header, &root, self.batch_size).map_err(AppError::internal)?;
        signature.push('.');
        signature.push_str(&self.signature);
        let path: Vec<String> = path.iter().map(|hash| URL_SAFE_NO_PAD.encode(hash)).collect();
        let statement = URL_SAFE_NO_PAD.encode(&statement);
        self.answer_text(ReceiptView::Batch(BatchReceipt {
            batch: BatchPlace { index: self.batch_index, path: &path, size: self.batch_size },
            signature: &signature,
            statement: &statement,
        }))
    }

    /// The answer's JSON text around its receipt.
    fn answer_text(&self, receipt: ReceiptView<'_>) -> Result<String, AppError> {
        let fields = self.field_results();
        let promised_by = rfc3339(self.promised_by_unix_millis);
        let proof = format!("/v1/verifications/{}/proof", self.verification_id);
        let answer = Answer {
            fields: fields.as_deref().map(FieldResults),
            log: Some(AnswerLog { leaf_hash: &self.leaf_hash, promised_by: &promised_by, proof: &proof }),
            outcome: &self.outcome,
            reason: self.reason.as_deref(),
            receipt: Some(receipt),
            verification_id: &self.verification_id,
        };
        String::from_utf8(to_json(&answer)?).map_err(AppError::internal)
    }
}

/// The earlier answer to a request id, or 409 if the request differs.
fn replay(
    context: &VerificationContext,
    stored: StoredResponse,
    request_sha256: &[u8; 32],
) -> Result<Response, AppError> {
    if !constant_time_equal(&stored.request_sha256, request_sha256) {
        return Ok(problem_response(
            StatusCode::CONFLICT,
            "Conflict",
            Some("this request_id was already used for a different request; use a new request_id"),
        ));
    }
    let text = match serde_json::from_str::<StoredAnswer>(&stored.response) {
        Ok(parts) if parts.format == STORED_ANSWER_FORMAT || parts.format == STORED_ANSWER_FORMAT_SINGLE => {
            parts.render(context)?
        }
        // Recorded before answers were stored as parts: the answer's text.
        _ => stored.response,
    };
    Ok(json_response(StatusCode::OK, text))
}

/// Why a batch receipt did not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the receipt does not verify: {0}")]
pub struct InvalidReceipt(&'static str);

/// Checks an answer's batch receipt (the answer's `receipt` member) as a
/// relying party would, with the receipt key: the leaf hash of the statement
/// leads through the inclusion path to the root that the JWS signature
/// covers. Returns the statement (the receipt's payload) once it verifies.
pub fn verify_receipt(
    receipt: &serde_json::Value,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<serde_json::Value, InvalidReceipt> {
    let text = |name: &'static str| receipt[name].as_str().ok_or(InvalidReceipt(name));
    let base64 = |value: &str, what: &'static str| URL_SAFE_NO_PAD.decode(value).map_err(|_| InvalidReceipt(what));
    let statement = base64(text("statement")?, "statement is not base64url")?;
    let place = &receipt["batch"];
    let index = place["index"].as_u64().ok_or(InvalidReceipt("batch.index"))?;
    let size = place["size"].as_u64().ok_or(InvalidReceipt("batch.size"))?;
    let path = place["path"]
        .as_array()
        .ok_or(InvalidReceipt("batch.path"))?
        .iter()
        .map(|hash| base64(hash.as_str().unwrap_or("!"), "batch.path holds a value that is not base64url"))
        .collect::<Result<Vec<_>, _>>()?;
    let root = inclusion_root(index, size, &hash_leaf(&statement), &path)
        .map_err(|_| InvalidReceipt("the inclusion path does not fit the batch"))?;

    let not_compact = || InvalidReceipt("signature is not a compact JWS");
    let (signing_input, signature) = text("signature")?.rsplit_once('.').ok_or_else(not_compact)?;
    let (header, body) =
        signing_input.split_once('.').filter(|(_, body)| !body.contains('.')).ok_or_else(not_compact)?;
    let header: serde_json::Value = serde_json::from_slice(&base64(header, "the JWS header is not base64url")?)
        .map_err(|_| InvalidReceipt("the JWS header is not JSON"))?;
    if header["alg"] != "EdDSA" || header["typ"] != BATCH_RECEIPT_TYPE {
        return Err(InvalidReceipt("the JWS is not an EdDSA batch receipt"));
    }
    let signature = ed25519_dalek::Signature::from_slice(&base64(signature, "the JWS signature is not base64url")?)
        .map_err(|_| InvalidReceipt("the JWS signature is not 64 bytes"))?;
    key.verify_strict(signing_input.as_bytes(), &signature)
        .map_err(|_| InvalidReceipt("the signature is not the key's"))?;
    let signed: BatchStatement = serde_json::from_slice(&base64(body, "the JWS payload is not base64url")?)
        .map_err(|_| InvalidReceipt("the JWS payload is not a batch statement"))?;
    if signed.size != size || base64(&signed.root, "the signed root is not base64url")? != root {
        return Err(InvalidReceipt("the statement is not in the signed batch"));
    }
    serde_json::from_slice(&statement).map_err(|_| InvalidReceipt("the statement is not JSON"))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) async fn create(
    State(state): State<AppState>,
    client_certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Result<Json<VerificationRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let runtime = authenticate(&state, &headers, client_certificate.as_deref()).await?;
    let Json(request) = body.map_err(AppError::from_json_rejection)?;
    let now = state.clock.now_unix_millis();

    // Input checks first: a malformed request costs no quota.
    if request.request_id.is_empty()
        || request.request_id.len() > 128
        || !request.request_id.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._:-".contains(&byte))
    {
        return Err(bad("request_id must be 1–128 characters of letters, digits, '.', '_', ':' or '-'"));
    }
    if !runtime.policy.purposes.iter().any(|purpose| purpose == &request.purpose) {
        return Err(AppError::Unprocessable("the purpose is not one your policy allows".to_owned()));
    }
    let Some(consent) = &request.consent else {
        return Err(bad("consent is required: reference, obtained_at (RFC 3339) and method"));
    };
    if consent.reference.trim().is_empty() || consent.reference.len() > 128 {
        return Err(bad("consent.reference must be 1–128 characters"));
    }
    if consent.method.trim().is_empty() || consent.method.len() > 64 {
        return Err(bad("consent.method must be 1–64 characters"));
    }
    if !looks_like_rfc3339(&consent.obtained_at) {
        return Err(bad("consent.obtained_at must be an RFC 3339 time"));
    }
    let presentation = validate_fields(request.fields, &runtime.policy)?;
    let request_sha256 = {
        let mut canonical = format!(
            "purpose={}\nconsent={}\n{}\n{}\n",
            request.purpose, consent.reference, consent.obtained_at, consent.method
        );
        for (field, value) in &presentation.values {
            canonical.push_str(field);
            canonical.push('=');
            canonical.push_str(value);
            canonical.push('\n');
        }
        sha256(canonical.as_bytes())
    };

    // A repeated request id is answered from the database by the writer
    // below (the same answer; a different request under it is a conflict),
    // so the hot path makes no extra round trip to look for it first.
    let party_id = runtime.party.id;
    admit(&runtime, now)?;

    // Find the person by the first lookup field, comparing blind indexes only.
    let context = &state.verification;
    let indexes: Vec<(&'static str, [u8; 16])> = presentation
        .values
        .iter()
        .map(|(field, value)| (*field, presented_index(&context.sealer, field, value)))
        .collect();
    let (lookup, lookup_index) = indexes
        .iter()
        .find_map(|(field, index)| {
            let lookup = match *field {
                "curp" => PersonLookup::Curp,
                "cic" => PersonLookup::Cic,
                "ocr" => PersonLookup::Ocr,
                "clave_elector" => PersonLookup::ClaveElector,
                _ => return None,
            };
            Some((lookup, *index))
        })
        .ok_or_else(|| bad("no lookup field"))?;
    // An embedded SQLite lookup is a few microseconds of CPU on a cached page:
    // it runs inline rather than paying a thread hand-off; a network database
    // is asked by the lookup threads, many lookups per round trip.
    let person = if matches!(state.store.as_ref(), certeza_store::Store::Sqlite(_)) {
        state.store.registry().find_person(lookup, &lookup_index).map_err(AppError::internal)?
    } else {
        let lookups = context.lookups.get_or_init(|| spawn_lookup_threads(state.store.clone()));
        let (reply, replied) = tokio::sync::oneshot::channel();
        lookups
            .send(LookupRequest { lookup, index: lookup_index, reply })
            .map_err(|_| AppError::internal("the registry lookup threads stopped"))?;
        replied
            .await
            .map_err(|_| AppError::internal("a registry lookup thread dropped a request"))?
            .map_err(AppError::internal)?
    };

    // Per-field results, sorted by field name (the order of the JSON keys).
    let mut field_results: Vec<(&'static str, bool)> = Vec::with_capacity(indexes.len());
    let (outcome, reason) = match &person {
        None => ("invalid", Some("not_found")),
        Some(person) => {
            let mut all_match = true;
            for (field, index) in &indexes {
                let matched = stored_index(person, field).is_some_and(|stored| constant_time_equal(stored, index));
                all_match &= matched;
                field_results.push((field, matched));
            }
            if !all_match {
                ("invalid", Some("mismatch"))
            } else {
                match CredentialStatus::parse(&person.status) {
                    Ok(CredentialStatus::Vigente) => ("valid", None),
                    Ok(other) => ("invalid", Some(other.as_str())),
                    Err(_) => return Err(AppError::internal("a stored credential status is unknown")),
                }
            }
        }
    };
    field_results.sort_unstable_by_key(|(field, _)| *field);

    // The log entry: no personal data, the subject only as a salted commitment.
    // One call to the system's random source for the commitment's salt and
    // the id's random part.
    let mut random = [0u8; 26];
    certeza_crypto_random(&mut random)?;
    let Some((salt, verification_id_bytes)) = random.split_first_chunk::<16>() else {
        return Err(AppError::internal("a random draw of 26 bytes holds 16"));
    };
    let salt = *salt;
    // Time first, then 80 random bits: ids of new verifications sort after
    // older ones, so storing them appends to the id index instead of
    // touching a random page of it.
    let verification_id = format!("ver_{now:012x}{}", hex(verification_id_bytes));
    let subject_commitment = person.as_ref().map(|person| {
        let mut committed = [0u8; 32];
        committed[..16].copy_from_slice(&person.id);
        committed[16..].copy_from_slice(&salt);
        sha256(&committed)
    });
    let fields = (runtime.policy.field_booleans && person.is_some()).then_some(FieldResults(&field_results));
    let answer = Answer { fields, log: None, outcome, reason, receipt: None, verification_id: &verification_id };
    let entry = LogEntry {
        v: 1,
        kind: "verification".to_owned(),
        time_unix_millis: now,
        actor: format!("rp:{}", runtime.party.name),
        purpose: request.purpose.clone(),
        subject_commitment,
        details_hash: Some(sha256(&to_json(&answer)?)),
    };
    let entry_bytes = entry.encode().map_err(AppError::internal)?;
    // The answer is rendered from what is stored of it, by the code that
    // renders it again for a repeated request id.
    let stored = StoredAnswer {
        format: STORED_ANSWER_FORMAT,
        verification_id: verification_id.clone(),
        request_id: request.request_id.clone(),
        relying_party: runtime.party.name.clone(),
        purpose: request.purpose.clone(),
        outcome: outcome.to_owned(),
        reason: reason.map(str::to_owned),
        fields: fields.map(|fields| fields.0.iter().map(|(field, matched)| ((*field).to_owned(), *matched)).collect()),
        time_unix_millis: now,
        promised_by_unix_millis: now + context.max_merge_delay_millis,
        leaf_hash: STANDARD.encode(hash_leaf(&entry_bytes)),
        log_origin: context.log_origin.clone(),
        receipt_key_id: String::new(),
        signature: String::new(),
        batch_index: 0,
        batch_size: 0,
        batch_path: String::new(),
    };
    let statement = stored.receipt_payload()?;
    let statement_leaf = hash_leaf(&statement);

    let record = OwnedVerification {
        id: verification_id.clone(),
        relying_party_id: party_id,
        request_id: request.request_id.clone(),
        request_sha256,
        person_id: person.as_ref().map(|person| person.id),
        subject_salt: salt,
        purpose: request.purpose.clone(),
        outcome,
        reason,
        // The writer stores the answer's parts once it has signed the batch.
        response: String::new(),
        created_at_ms: now,
    };
    let merge_delay = context.max_merge_delay_millis;
    let writer = context.writer.get_or_init(|| {
        let signer = ReceiptSigner {
            key: context.receipt_key.clone(),
            key_id: context.receipt_key_id.clone(),
            batch_header: context.batch_receipt_header.clone(),
        };
        spawn_writer(state.store.clone(), signer, merge_delay)
    });
    let (reply, replied) = tokio::sync::oneshot::channel();
    writer
        .send(WriteRequest { record, answer: stored, statement_leaf, entry: entry_bytes, reply })
        .map_err(|_| AppError::internal("the verification writer stopped"))?;
    let written = replied
        .await
        .map_err(|_| AppError::internal("the verification writer dropped a request"))?
        .map_err(AppError::internal)?;
    let response_text = match written {
        Written::New(answer) => answer.render_with_statement(context, statement)?,
        Written::Existing(stored) => return replay(context, stored, &request_sha256),
    };
    // Counted rather than logged at `info`: a line per verification was a
    // twentieth of the request threads' time (BENCHMARKS.md).
    crate::operations::count_verification(&runtime.party.name, outcome, reason);
    tracing::debug!(relying_party = %runtime.party.name, outcome, reason = reason.unwrap_or(""), "verification");

    // Enumeration defence: crossing the threshold throttles the relying party
    // and appends an alert to the log.
    if let Some(share) =
        note_outcome(&runtime, outcome == "invalid" && matches!(reason, Some("not_found" | "mismatch")), now)
    {
        tracing::warn!(relying_party = %runtime.party.name, share, "relying party throttled for enumeration");
        let alert = LogEntry {
            v: 1,
            kind: "rp.throttled".to_owned(),
            time_unix_millis: now,
            actor: "certeza".to_owned(),
            purpose: "enumeration-defence".to_owned(),
            subject_commitment: None,
            details_hash: Some(sha256(format!("{}:{share:.3}", runtime.party.name).as_bytes())),
        };
        let bytes = alert.encode().map_err(AppError::internal)?;
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || LogStore::new(&store).enqueue(&bytes, now, merge_delay))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?;
    }
    Ok(json_response(StatusCode::OK, response_text))
}

fn certeza_crypto_random(buffer: &mut [u8]) -> Result<(), AppError> {
    certeza_crypto::os_random(buffer).map_err(AppError::internal)
}

pub(crate) async fn proof(
    State(state): State<AppState>,
    client_certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    Path(verification_id): Path<String>,
) -> Result<Response, AppError> {
    let runtime = authenticate(&state, &headers, client_certificate.as_deref()).await?;
    let store = state.store.clone();
    let party_id = runtime.party.id;
    let receipt = tokio::task::spawn_blocking(move || {
        let Some(pending_id) = store.verification_log_pending_id(party_id, &verification_id)? else {
            return Ok::<_, certeza_store::StoreError>(Err(AppError::NotFound));
        };
        match LogStore::new(&store).receipt_for_pending(pending_id)? {
            Some(receipt) => Ok(Ok(receipt)),
            None => Ok(Err(AppError::Unavailable(
                "the log entry is queued and not yet covered by a checkpoint; retry shortly".to_owned(),
            ))),
        }
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)??;
    let text = receipt.encode().map_err(AppError::internal)?;
    let mut response = ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /v1/verifications/key`: the receipt verification key as a JWK.
pub(crate) async fn receipt_key(State(state): State<AppState>) -> impl IntoResponse {
    let context = &state.verification;
    Json(serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": context.receipt_key_id(),
        "x": URL_SAFE_NO_PAD.encode(context.receipt_key.verifying_key().as_bytes()),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn context_with_key(seed: u8) -> (tempfile::TempDir, VerificationContext) {
        let directory = tempfile::tempdir().unwrap();
        let keys = certeza_crypto::KeyDirectory::new(directory.path().join("keys"));
        keys.ensure_all(1).unwrap();
        let sealer = Arc::new(PersonSealer::new(&keys.load().unwrap()).unwrap());
        let context =
            VerificationContext::new(sealer, SigningKey::from_bytes(&[seed; 32]), "certeza.test/log".to_owned(), 5_000);
        (directory, context)
    }

    fn answer_parts(fields: Option<Vec<(String, bool)>>, reason: Option<&str>) -> StoredAnswer {
        StoredAnswer {
            format: STORED_ANSWER_FORMAT,
            verification_id: "ver_0190000000001122334455667788aabb".to_owned(),
            request_id: "solicitud-1".to_owned(),
            relying_party: "Banco Uno".to_owned(),
            purpose: "apertura-de-cuenta".to_owned(),
            outcome: if reason.is_some() { "invalid" } else { "valid" }.to_owned(),
            reason: reason.map(str::to_owned),
            fields,
            time_unix_millis: 1_790_000_000_123,
            promised_by_unix_millis: 1_790_000_005_123,
            leaf_hash: STANDARD.encode([9u8; 32]),
            log_origin: "certeza.test/log".to_owned(),
            receipt_key_id: String::new(),
            signature: String::new(),
            batch_index: 0,
            batch_size: 0,
            batch_path: String::new(),
        }
    }

    /// A write request for `answer`, as `create` makes it (the record is not looked at here).
    fn write_request(answer: StoredAnswer) -> WriteRequest {
        let record = OwnedVerification {
            id: answer.verification_id.clone(),
            relying_party_id: 1,
            request_id: answer.request_id.clone(),
            request_sha256: [1; 32],
            person_id: None,
            subject_salt: [2; 16],
            purpose: answer.purpose.clone(),
            outcome: "valid",
            reason: None,
            response: String::new(),
            created_at_ms: answer.time_unix_millis,
        };
        let statement_leaf = hash_leaf(&answer.receipt_payload().unwrap());
        WriteRequest { record, answer, statement_leaf, entry: Vec::new(), reply: tokio::sync::oneshot::channel().0 }
    }

    fn signer_of(context: &VerificationContext) -> ReceiptSigner {
        ReceiptSigner {
            key: context.receipt_key.clone(),
            key_id: context.receipt_key_id.clone(),
            batch_header: context.batch_receipt_header.clone(),
        }
    }

    /// Answers of every shape, sealed as one batch by `context`'s key.
    fn sealed_batch(context: &VerificationContext, size: usize) -> Vec<WriteRequest> {
        let shapes = [
            (
                Some(vec![("cic".to_owned(), true), ("curp".to_owned(), true), ("ocr".to_owned(), false)]),
                Some("mismatch"),
            ),
            (None, Some("not_found")),
            (None, None),
        ];
        let mut batch: Vec<WriteRequest> = (0..size)
            .map(|index| {
                let (fields, reason) = shapes[index % shapes.len()].clone();
                let mut answer = answer_parts(fields, reason);
                answer.verification_id = format!("ver_01900000000011223344556677{index:06x}");
                write_request(answer)
            })
            .collect();
        seal_batch(&signer_of(context), &mut batch).unwrap();
        batch
    }

    async fn body_of(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn every_answer_of_a_batch_verifies_and_is_rendered_again_byte_for_byte_whichever_key_signed_it() {
        let (_keys, context) = context_with_key(7);
        let (_other_keys, rotated) = context_with_key(8);
        for size in [1, 2, 3, 7, 64] {
            for request in sealed_batch(&context, size) {
                let stored = request.answer;
                assert_eq!((stored.batch_size, stored.format), (size as u64, STORED_ANSWER_FORMAT));
                let answer = stored.render(&context).unwrap();
                let record = request.record.response;
                assert_eq!(serde_json::from_str::<StoredAnswer>(&record).unwrap(), stored);
                assert!(
                    record.len() * 2 < answer.len(),
                    "stored {} bytes of a {}-byte answer",
                    record.len(),
                    answer.len()
                );
                // Replayed by this server, and by one whose receipt key has rotated since.
                for replaying in [&context, &rotated] {
                    let stored_response = StoredResponse { response: record.clone(), request_sha256: vec![1; 32] };
                    let (status, replayed) = body_of(replay(replaying, stored_response, &[1; 32]).unwrap()).await;
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(replayed, answer);
                }
                // The receipt verifies under the key that signed it, and only that key.
                let parsed: serde_json::Value = serde_json::from_str(&answer).unwrap();
                let statement = verify_receipt(&parsed["receipt"], &context.receipt_key.verifying_key()).unwrap();
                assert_eq!(statement["verification_id"], parsed["verification_id"]);
                assert_eq!(statement["outcome"], parsed["outcome"]);
                assert_eq!(statement["log"]["leaf_hash"], parsed["log"]["leaf_hash"]);
                assert_eq!(
                    verify_receipt(&parsed["receipt"], &rotated.receipt_key.verifying_key()),
                    Err(InvalidReceipt("the signature is not the key's"))
                );
                assert_eq!(parsed["fields"].is_object(), stored.fields.is_some());
            }
        }
    }

    #[test]
    fn a_receipt_changed_anywhere_does_not_verify() {
        let (_keys, context) = context_with_key(7);
        let key = context.receipt_key.verifying_key();
        let batch = sealed_batch(&context, 5);
        let answers: Vec<serde_json::Value> = batch
            .iter()
            .map(|request| serde_json::from_str(&request.answer.render(&context).unwrap()).unwrap())
            .collect();
        let receipt = &answers[2]["receipt"];
        verify_receipt(receipt, &key).unwrap();
        let changed = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut receipt = receipt.clone();
            change(&mut receipt);
            verify_receipt(&receipt, &key)
        };
        // Another answer's statement at this place, or this one at another place.
        assert!(changed(&|receipt| receipt["statement"] = answers[3]["receipt"]["statement"].clone()).is_err());
        assert!(changed(&|receipt| receipt["batch"]["index"] = 3.into()).is_err());
        assert!(changed(&|receipt| receipt["batch"]["size"] = 6.into()).is_err());
        // A statement changed by one character (valid base64url still).
        let statement = receipt["statement"].as_str().unwrap();
        let flipped = format!("{}{}", if statement.starts_with('e') { 'f' } else { 'e' }, &statement[1..]);
        assert!(changed(&|receipt| receipt["statement"] = flipped.clone().into()).is_err());
        assert!(changed(&|receipt| receipt["batch"]["path"][0] = receipt["batch"]["path"][1].clone()).is_err());
        assert!(
            changed(&|receipt| receipt["batch"]["path"].as_array_mut().unwrap().pop().map(drop).unwrap_or(())).is_err()
        );
        assert!(changed(&|receipt| receipt["signature"] = answers[0]["receipt"]["statement"].clone()).is_err());
        assert!(changed(&|receipt| receipt["signature"] = serde_json::Value::Null).is_err());
        assert!(verify_receipt(&serde_json::json!("a.b.c"), &key).is_err());
        // Another batch's signature does not cover this batch.
        let other = sealed_batch(&context, 5);
        let other: serde_json::Value = serde_json::from_str(&other[2].answer.render(&context).unwrap()).unwrap();
        let other_signature = other["receipt"]["signature"].clone();
        assert!(
            changed(&|receipt| receipt["signature"] = other_signature.clone()).is_ok(),
            "same statements, same tree"
        );
        let mut different = answer_parts(None, None);
        different.request_id = "otra-solicitud".to_owned();
        let mut alone = vec![write_request(different)];
        seal_batch(&signer_of(&context), &mut alone).unwrap();
        let alone: serde_json::Value = serde_json::from_str(&alone[0].answer.render(&context).unwrap()).unwrap();
        let alone_signature = alone["receipt"]["signature"].clone();
        assert!(changed(&|receipt| receipt["signature"] = alone_signature.clone()).is_err());
    }

    /// A receipt of a batch of three, and the key it verifies under (made once).
    fn a_valid_receipt() -> &'static (serde_json::Value, ed25519_dalek::VerifyingKey) {
        static RECEIPT: std::sync::OnceLock<(serde_json::Value, ed25519_dalek::VerifyingKey)> =
            std::sync::OnceLock::new();
        RECEIPT.get_or_init(|| {
            let (_keys, context) = context_with_key(9);
            let batch = sealed_batch(&context, 3);
            let answer: serde_json::Value = serde_json::from_str(&batch[1].answer.render(&context).unwrap()).unwrap();
            (answer["receipt"].clone(), context.receipt_key.verifying_key())
        })
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,80}".prop_map(serde_json::Value::from),
            "[A-Za-z0-9_.-]{0,120}".prop_map(serde_json::Value::from),
            proptest::collection::vec("[A-Za-z0-9_-]{0,50}", 0..12).prop_map(serde_json::Value::from),
            proptest::collection::vec(any::<u64>(), 0..4).prop_map(serde_json::Value::from),
        ]
    }

    proptest::proptest! {
        /// Whatever a relying party's file holds in place of one member of a
        /// receipt, checking it ends in an error (never a panic), unless it
        /// holds that member's own value.
        #[test]
        fn a_receipt_with_any_member_replaced_is_refused_without_a_panic(member in 0usize..8, replacement in any_json()) {
            let (receipt, key) = a_valid_receipt();
            let mut changed = receipt.clone();
            let slot = match member {
                0 => &mut changed["statement"],
                1 => &mut changed["signature"],
                2 => &mut changed["batch"],
                3 => &mut changed["batch"]["index"],
                4 => &mut changed["batch"]["size"],
                5 => &mut changed["batch"]["path"],
                6 => &mut changed["batch"]["path"][0],
                _ => &mut changed,
            };
            *slot = replacement;
            let verified = verify_receipt(&changed, key);
            proptest::prop_assert_eq!(verified.is_ok(), &changed == receipt);
        }
    }

    #[tokio::test]
    async fn an_answer_whose_receipt_was_signed_on_its_own_is_rendered_again_as_before() {
        let (_keys, context) = context_with_key(7);
        let (_other_keys, rotated) = context_with_key(8);
        // Format 2, as answers were stored before batch receipts.
        let mut stored = answer_parts(None, Some("not_found"));
        stored.format = STORED_ANSWER_FORMAT_SINGLE;
        stored.receipt_key_id.clone_from(&context.receipt_key_id);
        let signing_input = jws_signing_input(&context.receipt_header, &stored.receipt_payload().unwrap());
        stored.signature = URL_SAFE_NO_PAD.encode(context.receipt_key.sign(signing_input.as_bytes()).to_bytes());
        let record = serde_json::to_string(&stored).unwrap();
        let answer = stored.render(&context).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let receipt = parsed["receipt"].as_str().unwrap();
        assert_eq!(receipt, format!("{signing_input}.{}", stored.signature));
        let (signed, signature) = receipt.rsplit_once('.').unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        context.receipt_key.verifying_key().verify_strict(signed.as_bytes(), &signature).unwrap();
        for replaying in [&context, &rotated] {
            let stored_response = StoredResponse { response: record.clone(), request_sha256: vec![1; 32] };
            assert_eq!(
                body_of(replay(replaying, stored_response, &[1; 32]).unwrap()).await,
                (StatusCode::OK, answer.clone())
            );
        }
    }

    #[tokio::test]
    async fn an_answer_stored_whole_before_is_replayed_as_stored_and_a_different_request_conflicts() {
        let (_keys, context) = context_with_key(7);
        let legacy = r#"{"log":{"leaf_hash":"x","promised_by":"y","proof":"z"},"outcome":"valid","receipt":"a.b.c","verification_id":"ver_1"}"#;
        let stored = || StoredResponse { response: legacy.to_owned(), request_sha256: vec![1; 32] };
        assert_eq!(body_of(replay(&context, stored(), &[1; 32]).unwrap()).await, (StatusCode::OK, legacy.to_owned()));
        let (status, _) = body_of(replay(&context, stored(), &[2; 32]).unwrap()).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn requests_with_one_key_take_turns_and_the_gate_goes_when_the_last_leaves() {
        let gates = Mutex::new(HashMap::new());
        let key = [7u8; 32];
        let mut first = LoadingGate::enter(&gates, key);
        first.wait_for_turn().await;
        let mut second = LoadingGate::enter(&gates, key);
        assert_eq!(gates.lock().unwrap().len(), 1, "both requests wait at the same gate");
        // The second request's turn comes only once the first has left.
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), second.wait_for_turn()).await;
        assert!(waited.is_err(), "the second request went through while the first held the gate");
        drop(first);
        assert_eq!(gates.lock().unwrap().len(), 1, "the gate stays while a request still waits at it");
        second.wait_for_turn().await;
        drop(second);
        assert!(gates.lock().unwrap().is_empty(), "the last request through removes the gate");
    }

    #[tokio::test]
    async fn gates_of_different_keys_never_wait_for_each_other_and_none_is_left_behind() {
        let gates = Mutex::new(HashMap::new());
        let mut known = LoadingGate::enter(&gates, [1u8; 32]);
        known.wait_for_turn().await;
        // An unknown key (say, an attacker's) goes through while the known key loads.
        let mut unknown = LoadingGate::enter(&gates, [2u8; 32]);
        tokio::time::timeout(std::time::Duration::from_secs(5), unknown.wait_for_turn()).await.unwrap();
        drop(unknown);
        // A request dropped while it waited leaves nothing behind either.
        let mut abandoned = LoadingGate::enter(&gates, [1u8; 32]);
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(20), abandoned.wait_for_turn()).await;
        assert!(gave_up.is_err());
        drop(abandoned);
        drop(known);
        assert!(gates.lock().unwrap().is_empty());
    }
}
