use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::{CryptoError, SecretBytes, os_random, to_hex};

const KEY_FILE_MAGIC: &str = "certeza-key/v1";

/// The kinds of key kept in a key directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// AES-256-GCM key sealing personal fields.
    Data,
    /// HMAC-SHA-256 key for blind indexes.
    BlindIndex,
    /// Ed25519 seed signing the transparency log's checkpoints.
    LogSigning,
    /// Ed25519 seed signing QR credentials and the status list; created on first
    /// use (not by `ensure_all`, and not required by `load`).
    CredentialIssuer,
    /// Ed25519 seed signing the credential trust list; created on first use.
    TrustRoot,
}

impl KeyKind {
    /// The name used in key file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Data => "data",
            KeyKind::BlindIndex => "index",
            KeyKind::LogSigning => "log",
            KeyKind::CredentialIssuer => "issuer",
            KeyKind::TrustRoot => "trust-root",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [KeyKind::Data, KeyKind::BlindIndex, KeyKind::LogSigning, KeyKind::CredentialIssuer, KeyKind::TrustRoot]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// A directory of key files, one per key: `<kind>.<key id>.key`, mode 0600.
///
/// A key file is one line: `certeza-key/v1 <kind> <key id> <created unix seconds> <base64 secret>`.
/// The current key of a kind is the most recently created one; older keys stay
/// so that data sealed under them can still be opened after a rotation.
#[derive(Clone, Debug)]
pub struct KeyDirectory {
    path: PathBuf,
}

/// One key read from the key directory.
#[derive(Clone, Debug)]
pub struct LoadedKey {
    /// The key id.
    pub key_id: String,
    /// When the key was created (unix seconds).
    pub created_unix_seconds: u64,
    /// The secret.
    pub secret: SecretBytes,
}

/// The keys a running Certeza needs.
#[derive(Clone, Debug)]
pub struct LoadedKeys {
    /// Data keys, the current one first.
    pub data: Vec<LoadedKey>,
    /// The current blind-index key.
    pub blind_index: LoadedKey,
    /// The current log signing seed.
    pub log_signing: LoadedKey,
}

impl KeyDirectory {
    /// Names a key directory; nothing is read until asked.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the directory (mode 0700) and one key of every kind a server needs
    /// (data, blind index, log signing) that is missing. Returns the kinds that were
    /// created. Credential keys are created on first use.
    pub fn ensure_all(&self, now_unix_seconds: u64) -> Result<Vec<KeyKind>, CryptoError> {
        self.create_directory()?;
        let mut created = Vec::new();
        for kind in [KeyKind::Data, KeyKind::BlindIndex, KeyKind::LogSigning] {
            if self.read_kind(kind)?.is_empty() {
                self.generate(kind, now_unix_seconds)?;
                created.push(kind);
            }
        }
        Ok(created)
    }

    fn create_directory(&self) -> Result<(), CryptoError> {
        let io_error = |source| CryptoError::KeyFileIo { path: self.path.display().to_string(), source };
        fs::create_dir_all(&self.path).map_err(io_error)?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700)).map_err(io_error)
    }

    /// Generates a new key of `kind` from the OS random generator and makes it current.
    pub fn generate(&self, kind: KeyKind, now_unix_seconds: u64) -> Result<String, CryptoError> {
        self.create_directory()?;
        let mut id_bytes = [0u8; 4];
        os_random(&mut id_bytes)?;
        let key_id = to_hex(&id_bytes);
        let mut secret = vec![0u8; 32];
        os_random(&mut secret)?;
        let secret = SecretBytes::new(secret);
        let line = format!(
            "{KEY_FILE_MAGIC} {} {key_id} {now_unix_seconds} {}\n",
            kind.name(),
            BASE64.encode(secret.expose())
        );
        let path = self.path.join(format!("{}.{key_id}.key", kind.name()));
        let io_error = |source| CryptoError::KeyFileIo { path: path.display().to_string(), source };
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(io_error)?;
        file.write_all(line.as_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        Ok(key_id)
    }

    /// Reads every key of `kind`, newest first.
    pub fn read_kind(&self, kind: KeyKind) -> Result<Vec<LoadedKey>, CryptoError> {
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CryptoError::KeyFileIo { path: self.path.display().to_string(), source }),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|source| CryptoError::KeyFileIo { path: self.path.display().to_string(), source })?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else { continue };
            let prefix = format!("{}.", kind.name());
            if !(file_name.starts_with(&prefix) && file_name.ends_with(".key")) {
                continue;
            }
            keys.push(read_key_file(&entry.path(), kind)?);
        }
        keys.sort_by(|a, b| b.created_unix_seconds.cmp(&a.created_unix_seconds).then_with(|| b.key_id.cmp(&a.key_id)));
        Ok(keys)
    }

    /// Loads the keys a running server needs; a missing key is an error.
    pub fn load(&self) -> Result<LoadedKeys, CryptoError> {
        let missing =
            |kind: KeyKind| CryptoError::KeyMissing { directory: self.path.display().to_string(), kind: kind.name() };
        let data = self.read_kind(KeyKind::Data)?;
        if data.is_empty() {
            return Err(missing(KeyKind::Data));
        }
        let blind_index =
            self.read_kind(KeyKind::BlindIndex)?.into_iter().next().ok_or(missing(KeyKind::BlindIndex))?;
        let log_signing =
            self.read_kind(KeyKind::LogSigning)?.into_iter().next().ok_or(missing(KeyKind::LogSigning))?;
        Ok(LoadedKeys { data, blind_index, log_signing })
    }
}

fn read_key_file(path: &Path, expected_kind: KeyKind) -> Result<LoadedKey, CryptoError> {
    let shown_path = path.display().to_string();
    let malformed = |reason| CryptoError::KeyFileMalformed { path: shown_path.clone(), reason };
    let content =
        fs::read_to_string(path).map_err(|source| CryptoError::KeyFileIo { path: shown_path.clone(), source })?;
    let fields: Vec<&str> = content.trim_end().split(' ').collect();
    let [magic, kind, key_id, created, secret] = fields.as_slice() else {
        return Err(malformed("expected five space-separated fields"));
    };
    if *magic != KEY_FILE_MAGIC {
        return Err(malformed("unknown key file version"));
    }
    if KeyKind::from_name(kind) != Some(expected_kind) {
        return Err(malformed("the kind inside the file does not match its name"));
    }
    let created_unix_seconds = created.parse().map_err(|_| malformed("creation time is not a number"))?;
    let secret = BASE64.decode(secret).map_err(|_| malformed("secret is not base64"))?;
    if secret.len() != 32 {
        return Err(malformed("secret must be 32 bytes"));
    }
    Ok(LoadedKey { key_id: (*key_id).to_owned(), created_unix_seconds, secret: SecretBytes::new(secret) })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ensure_all_creates_private_key_files_once() {
        let directory = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::new(directory.path().join("keys"));
        assert_eq!(keys.ensure_all(100).unwrap().len(), 3);
        assert!(keys.ensure_all(200).unwrap().is_empty());
        for entry in fs::read_dir(keys.path()).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = keys.load().unwrap();
        assert_eq!(loaded.data.len(), 1);
        assert_eq!(loaded.data[0].secret.expose().len(), 32);
    }

    #[test]
    fn rotation_keeps_old_data_keys_and_makes_the_new_one_current() {
        let directory = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::new(directory.path());
        keys.ensure_all(100).unwrap();
        let new_id = keys.generate(KeyKind::Data, 200).unwrap();
        let loaded = keys.load().unwrap();
        assert_eq!(loaded.data.len(), 2);
        assert_eq!(loaded.data[0].key_id, new_id);
    }

    #[test]
    fn missing_and_malformed_keys_are_clear_errors() {
        let directory = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::new(directory.path());
        assert!(keys.load().unwrap_err().to_string().contains("certeza init"));
        fs::write(directory.path().join("data.abcd.key"), "certeza-key/v1 data abcd 1 bm90LWJhc2U2NA\n").unwrap();
        assert!(matches!(keys.load(), Err(CryptoError::KeyFileMalformed { .. })));
    }
}
