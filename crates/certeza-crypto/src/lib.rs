//! Keys and the cryptography that protects personal data at rest.
//!
//! This crate owns three kinds of secret:
//!
//! * the **data key**, an AES-256-GCM key that seals personal fields: a
//!   person's fields are sealed together as one message whose additional
//!   authenticated data binds the record id and every field's name and
//!   position, so a sealed value cannot be moved to another record, nor a value
//!   to another field, unnoticed (DESIGN.md §3 asks for an AAD binding record id
//!   and field name; one message per record does that at one message's cost);
//!   Nonces follow the deterministic construction of NIST SP 800-38D §8.2.1: a
//!   random 32-bit prefix chosen when the sealer is created, followed by a
//!   64-bit invocation counter, so no nonce repeats under one sealer;
//! * the **blind-index key**, an HMAC-SHA-256 key. A blind index is the HMAC of a
//!   field name and a normalised value, truncated to 16 bytes. Lookups and
//!   verification compare blind indexes, so the hot path never decrypts;
//! * the **log signing key**, an Ed25519 seed used by the transparency log.
//!
//! Keys live in a key directory, one file per key, readable only by the owner
//! (mode 0600). Every key has a key id so that rotation is possible: each sealed
//! row records the id of the key that sealed it.
//!
//! Secrets are wrapped in [`SecretBytes`], whose `Debug` never shows the bytes and
//! whose memory is zeroed on drop.
#![forbid(unsafe_code)]

mod keys;
mod seal;
mod secret;

pub use keys::{KeyDirectory, KeyKind, LoadedKey, LoadedKeys};
pub use seal::{BLIND_INDEX_LEN, BlindIndex, BlindIndexer, Sealer};
pub use secret::SecretBytes;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFileIo {
        /// The path of the key file (never its content).
        path: String,
        /// The underlying IO error.
        source: std::io::Error,
    },
    /// A key file exists but its content is not a valid key.
    #[error("key file {path} is malformed: {reason}")]
    KeyFileMalformed {
        /// The path of the key file.
        path: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A key of this kind is missing from the key directory.
    #[error("the key directory {directory} has no {kind} key; run `certeza init`")]
    KeyMissing {
        /// The key directory.
        directory: String,
        /// The kind of key that is missing.
        kind: &'static str,
    },
    /// A sealed value failed authentication or was truncated.
    #[error("a sealed value could not be opened (wrong key, wrong record or tampered)")]
    OpenFailed,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
}

/// Fills `buffer` with bytes from the operating system's CSPRNG.
pub fn os_random(buffer: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buffer).map_err(|_| CryptoError::Random)
}

/// Returns the lower-case hexadecimal form of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[(byte >> 4) as usize] as char);
        out.push(DIGITS[(byte & 15) as usize] as char);
    }
    out
}

/// Returns SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
