//! The credential authority of a data directory: issuer and trust-root keys, the
//! signed trust list, the signed status list and its next-index counter.
//!
//! Layout (all under the data directory):
//!
//! * `keys/issuer.<id>.key`, `keys/trust-root.<id>.key`: Ed25519 seeds in the key
//!   directory (mode 0600), created on first use. The newest issuer key is current;
//!   older ones stay listed in the trust list with the window in which they issued.
//! * `credentials/trust-list.cose`: the trust list, signed by the trust root.
//! * `credentials/trust-root.pub`: the root's raw public key, hexadecimal.
//! * `credentials/status-list.cose`: the IETF Token Status List, signed by the current
//!   issuer key (so any verifier holding the trust list can check it).
//! * `credentials/status-next-index`: the next free status index.
//! * `credentials/received.txt`: token ids (`cti`, random) whose holders confirmed
//!   receipt; no personal data.
//! * `credentials/.lock`: an advisory lock held while any of these change, so the CLI
//!   and a running server can share the directory.
//!
//! Both the `certeza credential` commands and the HTTP routes use this one type.
//! Nothing here logs or returns personal data in an error.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use certeza_core::Person;
use certeza_credential::{
    Algorithm, Document, DocumentType, IssueOptions, IssuerKey, PublicKey, StatusList, StatusRef, TrustList,
    TrustListEntry, TrustStore, Verdict, hex, issue_with, verify,
};
use certeza_crypto::{KeyDirectory, KeyKind, LoadedKey};

/// How many entries the status list holds (one bit each: 128 KiB uncompressed).
pub const STATUS_LIST_CAPACITY: usize = 1 << 20;
/// How long a voter credential (`cpv`) is valid: ten years.
pub const CPV_VALIDITY_SECONDS: i64 = 10 * 365 * 86_400;
/// How long a certificate (`constancia`) is valid: ninety days.
pub const CONSTANCIA_VALIDITY_SECONDS: i64 = 90 * 86_400;

const TRUST_LIST_FILE: &str = "trust-list.cose";
const TRUST_ROOT_FILE: &str = "trust-root.pub";
const STATUS_LIST_FILE: &str = "status-list.cose";
const NEXT_INDEX_FILE: &str = "status-next-index";
const RECEIVED_FILE: &str = "received.txt";
const LOCK_FILE: &str = ".lock";

/// What can go wrong; messages never contain personal data.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A key could not be created or read.
    #[error(transparent)]
    Key(#[from] certeza_crypto::CryptoError),
    /// The credential library refused something.
    #[error("credential: {0}")]
    Credential(#[from] certeza_credential::Error),
    /// The credential state is missing or inconsistent.
    #[error("{0}")]
    State(String),
    /// The code is not a valid credential of this issuer.
    #[error("the credential is not valid here: {0}")]
    NotOurs(&'static str),
}

/// What an issuance produced.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The `CZ1:` string.
    pub code: String,
    /// The issuer key's kid, hexadecimal.
    pub kid: String,
    /// The token id, hexadecimal (random; not personal data).
    pub cti: String,
    /// The status list index.
    pub status_index: u64,
    /// `iat` and `exp`.
    pub issued_at: i64,
    /// `exp`.
    pub expires_at: i64,
}

/// The outcome of a receipt confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Newly confirmed.
    Confirmed,
    /// It had been confirmed before.
    AlreadyConfirmed,
    /// The credential is valid but belongs to another CURP (or carries none).
    CurpMismatch,
}

/// A data directory's credential authority.
#[derive(Debug, Clone)]
pub struct CredentialAuthority {
    directory: PathBuf,
    keys: KeyDirectory,
    issuer: String,
    status_uri: String,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CredentialError + '_ {
    move |source| CredentialError::Io { path: path.display().to_string(), source }
}

fn read(path: &Path) -> Result<Vec<u8>, CredentialError> {
    fs::read(path).map_err(io_error(path))
}

/// Writes a file atomically (temporary file, fsync, rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CredentialError> {
    let temporary = path.with_extension("tmp");
    let mut file = fs::File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))
}

fn seed(key: &LoadedKey) -> Result<[u8; 32], CredentialError> {
    key.secret.expose().try_into().map_err(|_| CredentialError::State("a credential key must be 32 bytes".to_owned()))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn as_i64(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

impl CredentialAuthority {
    /// The authority of the data directory `data`, issuing as `issuer` with the status
    /// list published at `status_uri`. Nothing is read until asked.
    pub fn new(data: &Path, issuer: &str, status_uri: &str) -> Self {
        Self {
            directory: data.join("credentials"),
            keys: KeyDirectory::new(data.join("keys")),
            issuer: issuer.to_owned(),
            status_uri: status_uri.to_owned(),
        }
    }

    /// The `credentials/` folder.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The signed trust list file.
    pub fn trust_list_path(&self) -> PathBuf {
        self.directory.join(TRUST_LIST_FILE)
    }

    /// The signed status list file.
    pub fn status_list_path(&self) -> PathBuf {
        self.directory.join(STATUS_LIST_FILE)
    }

    /// The trust root's public key file (hexadecimal).
    pub fn trust_root_path(&self) -> PathBuf {
        self.directory.join(TRUST_ROOT_FILE)
    }

    /// The issuer name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether the credential state exists (keys, trust list, status list).
    pub fn is_initialised(&self) -> bool {
        self.trust_list_path().exists() && self.status_list_path().exists() && self.trust_root_path().exists()
    }

    /// Runs `work` holding the directory's lock (creating the folder if needed).
    fn locked<T>(&self, work: impl FnOnce() -> Result<T, CredentialError>) -> Result<T, CredentialError> {
        fs::create_dir_all(&self.directory).map_err(io_error(&self.directory))?;
        let path = self.directory.join(LOCK_FILE);
        let file =
            fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_error(&path))?;
        file.lock().map_err(io_error(&path))?;
        let result = work();
        let _ = file.unlock();
        result
    }

    /// Creates whatever is missing: the keys, the trust list, the status list and its
    /// counter. Returns true when something was created.
    ///
    /// # Errors
    ///
    /// IO and key errors.
    pub fn ensure(&self, now: i64) -> Result<bool, CredentialError> {
        if self.is_initialised() {
            return Ok(false);
        }
        self.locked(|| {
            let now_u = u64::try_from(now).unwrap_or(0);
            let mut created = false;
            for kind in [KeyKind::TrustRoot, KeyKind::CredentialIssuer] {
                if self.keys.read_kind(kind)?.is_empty() {
                    self.keys.generate(kind, now_u)?;
                    created = true;
                }
            }
            if !self.trust_list_path().exists() || !self.trust_root_path().exists() {
                self.write_trust_list(now)?;
                created = true;
            }
            if !self.status_list_path().exists() {
                let list = StatusList::new(&self.status_uri, STATUS_LIST_CAPACITY);
                self.write_status_list(&list, now)?;
                created = true;
            }
            let counter = self.directory.join(NEXT_INDEX_FILE);
            if !counter.exists() {
                write_atomic(&counter, b"0\n")?;
            }
            Ok(created)
        })
    }

    fn root_key(&self) -> Result<IssuerKey, CredentialError> {
        let root = self
            .keys
            .read_kind(KeyKind::TrustRoot)?
            .into_iter()
            .next()
            .ok_or_else(|| CredentialError::State("no trust-root key; issue a credential first".to_owned()))?;
        Ok(IssuerKey::ed25519(&seed(&root)?, &self.issuer))
    }

    /// The current issuer key.
    fn issuer_key(&self) -> Result<(IssuerKey, u64), CredentialError> {
        let current = self
            .keys
            .read_kind(KeyKind::CredentialIssuer)?
            .into_iter()
            .next()
            .ok_or_else(|| CredentialError::State("no issuer key; issue a credential first".to_owned()))?;
        Ok((IssuerKey::ed25519(&seed(&current)?, &self.issuer), current.created_unix_seconds))
    }

    /// Signs and writes the trust list of every issuer key: each key issues from its
    /// creation until the next key's creation.
    fn write_trust_list(&self, now: i64) -> Result<TrustList, CredentialError> {
        let root = self.root_key()?;
        let mut issuers = self.keys.read_kind(KeyKind::CredentialIssuer)?;
        issuers.reverse();
        let mut entries = Vec::with_capacity(issuers.len());
        for (position, key) in issuers.iter().enumerate() {
            let next = issuers.get(position + 1).map(|next| as_i64(next.created_unix_seconds));
            entries.push(TrustListEntry {
                issuer: self.issuer.clone(),
                key: IssuerKey::ed25519(&seed(key)?, &self.issuer).public(),
                not_before: as_i64(key.created_unix_seconds),
                not_after: next,
            });
        }
        let previous = fs::read(self.trust_list_path())
            .ok()
            .and_then(|bytes| TrustList::verify(&bytes, &root.public(), now).ok())
            .map_or(0, |list| list.sequence);
        let list = TrustList { issued_at: now, expires_at: None, sequence: previous + 1, entries };
        write_atomic(&self.trust_list_path(), &list.sign(&root))?;
        write_atomic(&self.trust_root_path(), format!("{}\n", hex(&root.public().to_raw())).as_bytes())?;
        Ok(list)
    }

    fn write_status_list(&self, list: &StatusList, now: i64) -> Result<(), CredentialError> {
        let (key, _) = self.issuer_key()?;
        write_atomic(&self.status_list_path(), &list.sign(&key, now, None, Some(300)))
    }

    /// The trust root's public key, from `credentials/trust-root.pub`.
    ///
    /// # Errors
    ///
    /// When the file is missing or malformed.
    pub fn trust_root(&self) -> Result<PublicKey, CredentialError> {
        let path = self.trust_root_path();
        let text = String::from_utf8(read(&path)?)
            .map_err(|_| CredentialError::State(format!("{} is not text", path.display())))?;
        let raw =
            unhex(&text).ok_or_else(|| CredentialError::State(format!("{} is not hexadecimal", path.display())))?;
        Ok(PublicKey::from_raw(Algorithm::EdDsa, &raw)?)
    }

    /// The verified trust list as a trust store.
    ///
    /// # Errors
    ///
    /// When the files are missing or do not verify.
    pub fn trust_store(&self, now: i64) -> Result<TrustStore, CredentialError> {
        let root = self.trust_root()?;
        Ok(TrustStore::load(&read(&self.trust_list_path())?, Some(&root), now)?)
    }

    /// The verified status list.
    ///
    /// # Errors
    ///
    /// When the file is missing or does not verify with `trust`.
    pub fn status_list(&self, trust: &TrustStore, now: i64) -> Result<StatusList, CredentialError> {
        Ok(StatusList::from_signed(&read(&self.status_list_path())?, trust, now)?)
    }

    /// The signed trust list's bytes (as published).
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub fn trust_list_bytes(&self) -> Result<Vec<u8>, CredentialError> {
        read(&self.trust_list_path())
    }

    /// The signed status list's bytes (as published).
    ///
    /// # Errors
    ///
    /// When the file cannot be read.
    pub fn status_list_bytes(&self) -> Result<Vec<u8>, CredentialError> {
        read(&self.status_list_path())
    }

    /// Verifies a code against this directory's trust list and status list; `at` is
    /// the time the credential is judged at, `now` the time the lists are read at.
    ///
    /// # Errors
    ///
    /// When the directory's lists cannot be read (not when the code is bad: that is
    /// the verdict).
    pub fn verify(&self, code: &str, now: i64, at: i64) -> Result<Verdict, CredentialError> {
        let trust = self.trust_store(now)?;
        let status = self.status_list(&trust, now)?;
        Ok(verify(code, &trust, Some(&status), at))
    }

    /// Builds the document of `doc_type` for a person: a `cpv` (voter credential)
    /// carries name, CURP, clave de elector, emission, sex and birth date; a
    /// `constancia` name and CURP. The CURP is a plain field (no verifier key is
    /// configured to seal it for).
    pub fn document(person: &Person, doc_type: DocumentType) -> Document {
        let mut name = format!("{} {}", person.given_names, person.first_surname);
        if !person.second_surname.is_empty() {
            name.push(' ');
            name.push_str(&person.second_surname);
        }
        let document = Document::new(doc_type.clone()).with("nombre", name.as_str()).with("curp", person.curp.as_str());
        match doc_type {
            DocumentType::Cpv => document
                .with("clave_elector", person.clave_elector.as_str())
                .with("emision", person.emission.as_str())
                .with("sexo", person.sex.as_str())
                .with("nacimiento", person.birth_date.to_string().as_str()),
            _ => document.with("asunto", "registro"),
        }
    }

    /// Issues a credential for `person`, taking the next status index.
    ///
    /// # Errors
    ///
    /// IO and key errors; a full status list.
    pub fn issue(&self, person: &Person, doc_type: DocumentType, now: i64) -> Result<Issued, CredentialError> {
        self.ensure(now)?;
        let valid_for = if doc_type == DocumentType::Cpv { CPV_VALIDITY_SECONDS } else { CONSTANCIA_VALIDITY_SECONDS };
        let document = Self::document(person, doc_type);
        let index = self.locked(|| {
            let path = self.directory.join(NEXT_INDEX_FILE);
            let text = String::from_utf8(read(&path)?).unwrap_or_default();
            let index: u64 = text
                .trim()
                .parse()
                .map_err(|_| CredentialError::State(format!("{} is not a number", path.display())))?;
            if index >= STATUS_LIST_CAPACITY as u64 {
                return Err(CredentialError::State("the status list is full".to_owned()));
            }
            write_atomic(&path, format!("{}\n", index + 1).as_bytes())?;
            Ok(index)
        })?;
        let (key, _) = self.issuer_key()?;
        let mut cti = vec![0u8; 16];
        certeza_crypto::os_random(&mut cti)?;
        let options = IssueOptions {
            issued_at: now,
            valid_for,
            cti: Some(cti.clone()),
            status: Some(StatusRef { idx: index, uri: self.status_uri.clone() }),
            seal: None,
        };
        let code = issue_with(&document, &key, &options)?;
        Ok(Issued {
            code,
            kid: key.kid().to_hex(),
            cti: hex(&cti),
            status_index: index,
            issued_at: now,
            expires_at: now.saturating_add(valid_for),
        })
    }

    /// Makes a new issuer key current, re-signs the trust list (the old key keeps the
    /// window it issued in) and the status list. Returns the new kid.
    ///
    /// # Errors
    ///
    /// IO and key errors.
    pub fn rotate(&self, now: impl Fn() -> i64) -> Result<String, CredentialError> {
        self.ensure(now())?;
        self.locked(|| {
            let (_, created) = self.issuer_key()?;
            // Key windows are whole seconds: the new key starts strictly after the old.
            while now() <= as_i64(created) {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let at = now();
            let trust = self.trust_store(at)?;
            let status = self.status_list(&trust, at)?;
            self.keys.generate(KeyKind::CredentialIssuer, u64::try_from(at).unwrap_or(0))?;
            self.write_trust_list(at)?;
            self.write_status_list(&status, at)?;
            Ok(self.issuer_key()?.0.kid().to_hex())
        })
    }

    /// Revokes a credential this directory issued: sets its status bit and re-signs
    /// the status list. Returns (cti hex, status index).
    ///
    /// # Errors
    ///
    /// [`CredentialError::NotOurs`] when the code does not verify here or has no
    /// status entry in this directory's list.
    pub fn revoke(&self, code: &str, now: i64) -> Result<(String, u64), CredentialError> {
        let decoded = certeza_credential::decode(code).map_err(|_| CredentialError::NotOurs("it cannot be decoded"))?;
        let trust = self.trust_store(now)?;
        // The signature is judged at issuance, so an expired credential can be revoked too.
        let verdict = verify(code, &trust, None, decoded.issued_at.unwrap_or(now));
        if !verdict.valid {
            return Err(CredentialError::NotOurs("its signature does not verify with this trust list"));
        }
        let reference = decoded
            .status
            .filter(|r| r.uri == self.status_uri)
            .ok_or(CredentialError::NotOurs("it has no status entry here"))?;
        let cti = decoded.cti.as_deref().map(hex).unwrap_or_default();
        self.locked(|| {
            let mut list = self.status_list(&trust, now)?;
            list.set_revoked(reference.idx)?;
            self.write_status_list(&list, now)?;
            Ok((cti, reference.idx))
        })
    }

    /// Confirms that the holder of a valid credential whose CURP field is `curp`
    /// received it. The caller has verified the credential (`verdict.valid`).
    ///
    /// # Errors
    ///
    /// IO errors.
    pub fn confirm_receipt(&self, verdict: &Verdict, curp: &str) -> Result<Receipt, CredentialError> {
        let carried = match verdict.fields.get("curp") {
            Some(certeza_credential::FieldValue::Text(text)) => text.as_str(),
            _ => return Ok(Receipt::CurpMismatch),
        };
        if !crate::constant_time_equal(carried.as_bytes(), curp.as_bytes()) {
            return Ok(Receipt::CurpMismatch);
        }
        let cti = certeza_credential::decode(&verdict.code)
            .ok()
            .and_then(|d| d.cti)
            .map(|cti| hex(&cti))
            .ok_or(CredentialError::NotOurs("it has no token id"))?;
        self.locked(|| {
            let path = self.directory.join(RECEIVED_FILE);
            let existing = match fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(source) => return Err(CredentialError::Io { path: path.display().to_string(), source }),
            };
            if existing.lines().any(|line| line.split(' ').next() == Some(cti.as_str())) {
                return Ok(Receipt::AlreadyConfirmed);
            }
            let mut file = fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io_error(&path))?;
            writeln!(file, "{cti} received").map_err(io_error(&path))?;
            file.sync_all().map_err(io_error(&path))?;
            Ok(Receipt::Confirmed)
        })
    }

    /// Whether the credential with this token id was confirmed as received.
    pub fn is_received(&self, cti_hex: &str) -> bool {
        fs::read_to_string(self.directory.join(RECEIVED_FILE))
            .is_ok_and(|text| text.lines().any(|line| line.split(' ').next() == Some(cti_hex)))
    }
}
