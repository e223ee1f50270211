use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{CryptoError, SecretBytes};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Length in bytes of a blind index (HMAC-SHA-256 truncated).
pub const BLIND_INDEX_LEN: usize = 16;

/// A blind index: HMAC-SHA-256(index key, field name || 0x00 || value), truncated.
pub type BlindIndex = [u8; BLIND_INDEX_LEN];

/// Seals and opens personal fields with AES-256-GCM under one data key.
///
/// A sealed value is `nonce (12) || ciphertext || tag (16)`. The additional
/// authenticated data is `record id || field name`.
pub struct Sealer {
    key_id: String,
    cipher: Aes256Gcm,
    nonce_prefix: [u8; 4],
    invocation_counter: AtomicU64,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Sealer").field("key_id", &self.key_id).field("key", &"[REDACTED]").finish()
    }
}

impl Sealer {
    /// Creates a sealer for a 32-byte key. `nonce_prefix` must be random (from
    /// the OS in production, fixed in tests) so two sealers of the same key never
    /// share a nonce.
    pub fn new(key_id: &str, key: &SecretBytes, nonce_prefix: [u8; 4]) -> Result<Self, CryptoError> {
        let cipher = Aes256Gcm::new_from_slice(key.expose()).map_err(|_| CryptoError::KeyFileMalformed {
            path: key_id.to_owned(),
            reason: "a data key must be 32 bytes",
        })?;
        Ok(Self { key_id: key_id.to_owned(), cipher, nonce_prefix, invocation_counter: AtomicU64::new(0) })
    }

    /// The id of the data key, stored next to every sealed row.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `plaintext` as field `field_name` of record `record_id`.
    pub fn seal(&self, record_id: &[u8], field_name: &str, plaintext: &[u8]) -> Vec<u8> {
        let counter = self.invocation_counter.fetch_add(1, Ordering::Relaxed);
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes[..4].copy_from_slice(&self.nonce_prefix);
        nonce_bytes[4..].copy_from_slice(&counter.to_be_bytes());
        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(plaintext);
        let aad = associated_data(record_id, field_name);
        // Encryption in place cannot fail for inputs shorter than 64 GiB.
        let tag = match self.cipher.encrypt_in_place_detached(
            Nonce::from_slice(&nonce_bytes),
            &aad,
            &mut sealed[NONCE_LEN..],
        ) {
            Ok(tag) => tag,
            Err(_) => unreachable_encrypt_failure(),
        };
        sealed.extend_from_slice(&tag);
        sealed
    }

    /// Opens a value sealed by [`Sealer::seal`] for the same record and field.
    pub fn open(&self, record_id: &[u8], field_name: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::OpenFailed);
        }
        let (nonce_bytes, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plaintext = ciphertext.to_vec();
        let aad = associated_data(record_id, field_name);
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(nonce_bytes), &aad, &mut plaintext, Tag::from_slice(tag))
            .map_err(|_| CryptoError::OpenFailed)?;
        Ok(plaintext)
    }
}

#[cold]
fn unreachable_encrypt_failure() -> ! {
    // AES-GCM only refuses plaintexts longer than 2^36 bytes, which no personal
    // field ever is; this is a programming error, not an input error.
    panic!("AES-GCM refused a plaintext shorter than its limit")
}

fn associated_data(record_id: &[u8], field_name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(record_id.len() + 1 + field_name.len());
    aad.extend_from_slice(record_id);
    aad.push(0);
    aad.extend_from_slice(field_name.as_bytes());
    aad
}

/// Computes blind indexes under one index key.
#[derive(Clone)]
pub struct BlindIndexer {
    key_id: String,
    keyed_mac: Hmac<Sha256>,
}

impl std::fmt::Debug for BlindIndexer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("BlindIndexer").field("key_id", &self.key_id).field("key", &"[REDACTED]").finish()
    }
}

impl BlindIndexer {
    /// Creates an indexer from the blind-index key.
    pub fn new(key_id: &str, key: &SecretBytes) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed_mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.expose()) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac_failure(),
        };
        Self { key_id: key_id.to_owned(), keyed_mac }
    }

    /// The id of the index key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The blind index of `normalized_value` for field `field_name`. The caller
    /// normalises (trim, upper case, accents folded) before calling.
    pub fn index(&self, field_name: &str, normalized_value: &[u8]) -> BlindIndex {
        let mut mac = self.keyed_mac.clone();
        mac.update(field_name.as_bytes());
        mac.update(&[0]);
        mac.update(normalized_value);
        let full = mac.finalize().into_bytes();
        let mut index = [0u8; BLIND_INDEX_LEN];
        index.copy_from_slice(&full[..BLIND_INDEX_LEN]);
        index
    }

    /// A keyed 32-byte digest of arbitrary data, used for change detection.
    pub fn digest(&self, domain: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed_mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_hmac_failure() -> ! {
    panic!("HMAC rejected a key, which it never does")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn sealer() -> Sealer {
        Sealer::new("d1", &SecretBytes::new(vec![7u8; 32]), [1, 2, 3, 4]).unwrap()
    }

    #[test]
    fn sealed_value_is_bound_to_record_and_field() {
        let sealer = sealer();
        let sealed = sealer.seal(b"record-one", "curp", b"BOXW310820HNERXN09");
        assert_eq!(sealer.open(b"record-one", "curp", &sealed).unwrap(), b"BOXW310820HNERXN09");
        assert!(sealer.open(b"record-two", "curp", &sealed).is_err());
        assert!(sealer.open(b"record-one", "cic", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[14] ^= 1;
        assert!(sealer.open(b"record-one", "curp", &tampered).is_err());
        assert!(sealer.open(b"record-one", "curp", &sealed[..10]).is_err());
    }

    #[test]
    fn sealed_value_does_not_contain_plaintext_and_nonces_differ() {
        let sealer = sealer();
        let first = sealer.seal(b"r", "f", b"GARCIA");
        let second = sealer.seal(b"r", "f", b"GARCIA");
        assert_ne!(first, second);
        assert!(!first.windows(6).any(|window| window == b"GARCIA"));
    }

    #[test]
    fn blind_index_depends_on_key_field_and_value() {
        let indexer = BlindIndexer::new("i1", &SecretBytes::new(vec![9u8; 32]));
        let other = BlindIndexer::new("i2", &SecretBytes::new(vec![8u8; 32]));
        let value = b"BOXW310820HNERXN09";
        assert_eq!(indexer.index("curp", value), indexer.index("curp", value));
        assert_ne!(indexer.index("curp", value), indexer.index("cic", value));
        assert_ne!(indexer.index("curp", value), other.index("curp", value));
    }

    #[test]
    fn debug_of_key_holders_is_redacted() {
        let shown = format!("{:?} {:?}", sealer(), BlindIndexer::new("i1", &SecretBytes::new(vec![9u8; 32])));
        assert!(shown.contains("REDACTED"));
        assert!(!shown.contains("[7, 7"));
        assert!(!shown.contains("[9, 9"));
    }

    proptest! {
        #[test]
        fn seal_open_round_trip(record in proptest::collection::vec(any::<u8>(), 0..32),
                                field in "[a-z_]{1,16}",
                                value in proptest::collection::vec(any::<u8>(), 0..300)) {
            let sealer = sealer();
            let sealed = sealer.seal(&record, &field, &value);
            prop_assert_eq!(sealer.open(&record, &field, &sealed).unwrap(), value);
        }

        #[test]
        fn open_never_panics(garbage in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = sealer().open(b"r", "f", &garbage);
        }
    }
}
