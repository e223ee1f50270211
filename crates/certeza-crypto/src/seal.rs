use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;

use crate::{CryptoError, SecretBytes};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The first byte of a record sealed as one message (record format 2).
const RECORD_FORMAT_SINGLE_MESSAGE: u8 = 2;

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
    /// AES-256-GCM from `ring` (assembly with AES-NI/VAES and carry-less
    /// multiplication): about a dozen short messages per person, where the
    /// per-message cost decides the import rate.
    cipher: LessSafeKey,
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
        let unbound = UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| CryptoError::KeyFileMalformed {
            path: key_id.to_owned(),
            reason: "a data key must be 32 bytes",
        })?;
        let cipher = LessSafeKey::new(unbound);
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
        let tag = match self.cipher.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(&aad),
            &mut sealed[NONCE_LEN..],
        ) {
            Ok(tag) => tag,
            Err(_) => unreachable_encrypt_failure(),
        };
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// Opens a value sealed by [`Sealer::seal`] for the same record and field.
    pub fn open(&self, record_id: &[u8], field_name: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::OpenFailed);
        }
        let Some((nonce_bytes, ciphertext_and_tag)) = sealed.split_first_chunk::<NONCE_LEN>() else {
            return Err(CryptoError::OpenFailed);
        };
        let mut plaintext = ciphertext_and_tag.to_vec();
        let aad = associated_data(record_id, field_name);
        let opened_length = self
            .cipher
            .open_in_place(Nonce::assume_unique_for_key(*nonce_bytes), Aad::from(&aad), &mut plaintext)
            .map_err(|_| CryptoError::OpenFailed)?
            .len();
        plaintext.truncate(opened_length);
        Ok(plaintext)
    }
}

impl Sealer {
    /// Seals several fields of one record into one value, as one AES-GCM
    /// message (record format 2): `0x02 || nonce (12) || ciphertext || tag (16)`.
    ///
    /// The plaintext is, for each field, `length (u16, big-endian) || value`.
    /// The additional authenticated data is `"certeza-record-v2" || 0 ||
    /// length of the record id (u16, big-endian) || record id ||` the field
    /// names, each followed by 0. It binds the record id and every field's
    /// name and position, as one message per field did, at one message's cost
    /// and with one 16-byte tag per record instead of one per field.
    pub fn seal_record(&self, record_id: &[u8], fields: &[(&str, &[u8])]) -> Vec<u8> {
        let counter = self.invocation_counter.fetch_add(1, Ordering::Relaxed);
        let nonce_bytes = field_nonce(&self.nonce_prefix, counter, 0);
        let plaintext_length: usize = fields.iter().map(|(_, value)| 2 + value.len()).sum();
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + plaintext_length + TAG_LEN);
        sealed.push(RECORD_FORMAT_SINGLE_MESSAGE);
        sealed.extend_from_slice(&nonce_bytes);
        for (_, value) in fields {
            let length = u16::try_from(value.len()).unwrap_or_else(|_| unreachable_field_too_long());
            sealed.extend_from_slice(&length.to_be_bytes());
            sealed.extend_from_slice(value);
        }
        let aad = record_associated_data(record_id, fields.iter().map(|(field_name, _)| *field_name));
        let tag = match self.cipher.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(&aad),
            &mut sealed[1 + NONCE_LEN..],
        ) {
            Ok(tag) => tag,
            Err(_) => unreachable_encrypt_failure(),
        };
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// Opens a value made by [`Sealer::seal_record`]; `field_names` must be the
    /// names it was sealed with, in the same order. Records sealed before
    /// format 2 (one message per field, see `open_record_per_field`) open too: a value that does not open as format 2 is tried as the older
    /// format, and both are authenticated, so neither can be mistaken for the
    /// other.
    pub fn open_record(
        &self,
        record_id: &[u8],
        field_names: &[&str],
        sealed: &[u8],
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        if let Some((&RECORD_FORMAT_SINGLE_MESSAGE, rest)) = sealed.split_first()
            && let Ok(opened) = self.open_record_single_message(record_id, field_names, rest)
        {
            return Ok(opened);
        }
        self.open_record_per_field(record_id, field_names, sealed)
    }

    fn open_record_single_message(
        &self,
        record_id: &[u8],
        field_names: &[&str],
        sealed: &[u8],
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        let Some((nonce_bytes, ciphertext_and_tag)) = sealed.split_first_chunk::<NONCE_LEN>() else {
            return Err(CryptoError::OpenFailed);
        };
        let mut plaintext = ciphertext_and_tag.to_vec();
        let aad = record_associated_data(record_id, field_names.iter().copied());
        let mut rest = self
            .cipher
            .open_in_place(Nonce::assume_unique_for_key(*nonce_bytes), Aad::from(&aad), &mut plaintext)
            .map_err(|_| CryptoError::OpenFailed)? as &[u8];
        let mut opened = Vec::with_capacity(field_names.len());
        for _ in field_names {
            let (_, value, after_value) = split_length_prefixed(rest, 0)?;
            opened.push(value.to_vec());
            rest = after_value;
        }
        if !rest.is_empty() {
            return Err(CryptoError::OpenFailed);
        }
        Ok(opened)
    }

    /// Opens a record of the first format, as sealed before format 2:
    /// `base nonce (12) || for each field: length (u16, big-endian) || ciphertext || tag (16)`,
    /// each field its own AES-GCM message with AAD `record id || 0 || field name`
    /// and the base nonce's counter plus the field's position as its nonce.
    fn open_record_per_field(
        &self,
        record_id: &[u8],
        field_names: &[&str],
        sealed: &[u8],
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        let Some((base_nonce, mut rest)) = sealed.split_first_chunk::<NONCE_LEN>() else {
            return Err(CryptoError::OpenFailed);
        };
        let mut prefix = [0u8; 4];
        prefix.copy_from_slice(&base_nonce[..4]);
        let mut counter_bytes = [0u8; 8];
        counter_bytes.copy_from_slice(&base_nonce[4..]);
        let base_counter = u64::from_be_bytes(counter_bytes);
        let mut opened = Vec::with_capacity(field_names.len());
        for (position, field_name) in field_names.iter().enumerate() {
            let (length, ciphertext_and_tag, after_tag) = split_length_prefixed(rest, TAG_LEN)?;
            let mut plaintext = ciphertext_and_tag.to_vec();
            let aad = associated_data(record_id, field_name);
            let nonce_bytes = field_nonce(&prefix, base_counter, position);
            self.cipher
                .open_in_place(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(&aad), &mut plaintext)
                .map_err(|_| CryptoError::OpenFailed)?;
            plaintext.truncate(length);
            opened.push(plaintext);
            rest = after_tag;
        }
        if !rest.is_empty() {
            return Err(CryptoError::OpenFailed);
        }
        Ok(opened)
    }
}

/// Splits `length (u16, big-endian) || length + trailer bytes || rest`
/// into the length, the bytes and the rest; too short is a failed open.
fn split_length_prefixed(bytes: &[u8], trailer: usize) -> Result<(usize, &[u8], &[u8]), CryptoError> {
    let (length, after_length) = bytes.split_first_chunk::<2>().ok_or(CryptoError::OpenFailed)?;
    let length = u16::from_be_bytes(*length) as usize;
    if after_length.len() < length + trailer {
        return Err(CryptoError::OpenFailed);
    }
    let (value, rest) = after_length.split_at(length + trailer);
    Ok((length, value, rest))
}

fn field_nonce(prefix: &[u8; 4], base_counter: u64, position: usize) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..4].copy_from_slice(prefix);
    nonce[4..].copy_from_slice(&base_counter.wrapping_add(position as u64).to_be_bytes());
    nonce
}

#[cold]
fn unreachable_field_too_long() -> ! {
    // Callers validate fields (names are at most a few hundred bytes) first.
    panic!("a personal field longer than 65535 bytes reached the sealer")
}

#[cold]
fn unreachable_encrypt_failure() -> ! {
    // AES-GCM only refuses plaintexts longer than 2^36 bytes, which no personal
    // field ever is; this is a programming error, not an input error.
    panic!("AES-GCM refused a plaintext shorter than its limit")
}

fn record_associated_data<'a>(record_id: &[u8], field_names: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(record_id.len() + 256);
    aad.extend_from_slice(b"certeza-record-v2\0");
    // Record ids are short (a 16-byte blind index); the length makes the AAD
    // unambiguous whatever bytes they hold.
    let record_id_length = u16::try_from(record_id.len()).unwrap_or(u16::MAX);
    aad.extend_from_slice(&record_id_length.to_be_bytes());
    aad.extend_from_slice(record_id);
    for field_name in field_names {
        aad.extend_from_slice(field_name.as_bytes());
        aad.push(0);
    }
    aad
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

    /// The sealed formats are AES-256-GCM, byte for byte: known answers
    /// (the single field and the first record format computed once with the
    /// RustCrypto `aes-gcm` crate, record format 2 with Python's
    /// `cryptography` package) pin them, so a change of implementation
    /// cannot silently change stored data, and records sealed in the first
    /// format still open.
    #[test]
    fn sealed_bytes_are_a_known_answer() {
        let sealer = sealer();
        let single = sealer.seal(b"record-one", "curp", b"BOXW310820HNERXN09");
        let fields: [(&str, &[u8]); 3] = [("curp", b"BOXW310820HNERXN09"), ("cic", b""), ("ocr", b"1234567890123")];
        let record = sealer.seal_record(b"id-1", &fields);
        assert_eq!(
            crate::to_hex(&single),
            "010203040000000000000000eab8c287e03685b6a393a2a147e75bf52e2010120ff621b08e88cd6a25fc9ab5f18e"
        );
        assert_eq!(
            crate::to_hex(&record),
            "02010203040000000000000001c838a986e8512a867a1951e817777ba3dc04511dc963bfd801d4c3b75aa649db7e9e1b04d2edfe6e5181f5ed33e38b8f60a410346f"
        );
        let first_format = hex_bytes(
            "01020304000000000000000100128a65b39e8337298f78112b961a6b66bfb4735e0e0ef6ea4413907aeb8b9fc47274650000684de6fce47092632398181d07a09eb2000d62dbe949e1f89ba84a1cef4c35a0be8ddbb1422a683e35538ac098459f",
        );
        let names = ["curp", "cic", "ocr"];
        let expected: Vec<Vec<u8>> = fields.iter().map(|(_, value)| value.to_vec()).collect();
        assert_eq!(sealer.open_record(b"id-1", &names, &first_format).unwrap(), expected);
        assert_eq!(sealer.open_record(b"id-1", &names, &record).unwrap(), expected);
        assert!(sealer.open_record(b"id-2", &names, &first_format).is_err());
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|position| u8::from_str_radix(&hex[position..position + 2], 16).unwrap())
            .collect()
    }

    /// Seals a record in the first format (one message per field), as
    /// releases before record format 2 did.
    fn seal_record_per_field(sealer: &Sealer, record_id: &[u8], fields: &[(&str, &[u8])]) -> Vec<u8> {
        let base_counter = sealer.invocation_counter.fetch_add(fields.len() as u64, Ordering::Relaxed);
        let mut sealed = sealer.nonce_prefix.to_vec();
        sealed.extend_from_slice(&base_counter.to_be_bytes());
        for (position, (field_name, value)) in fields.iter().enumerate() {
            sealed.extend_from_slice(&(value.len() as u16).to_be_bytes());
            let start = sealed.len();
            sealed.extend_from_slice(value);
            let nonce = Nonce::assume_unique_for_key(field_nonce(&sealer.nonce_prefix, base_counter, position));
            let aad = associated_data(record_id, field_name);
            let tag = sealer.cipher.seal_in_place_separate_tag(nonce, Aad::from(&aad), &mut sealed[start..]).unwrap();
            sealed.extend_from_slice(tag.as_ref());
        }
        sealed
    }

    /// A record of the first format whose nonce prefix starts with the
    /// format-2 marker byte still opens, through the fallback.
    #[test]
    fn first_format_records_open_whatever_their_first_byte() {
        let sealer =
            Sealer::new("d1", &SecretBytes::new(vec![7u8; 32]), [RECORD_FORMAT_SINGLE_MESSAGE, 0, 0, 9]).unwrap();
        let fields: [(&str, &[u8]); 2] = [("curp", b"BOXW310820HNERXN09"), ("cic", b"123456789")];
        let sealed = seal_record_per_field(&sealer, b"id-1", &fields);
        assert_eq!(sealed[0], RECORD_FORMAT_SINGLE_MESSAGE);
        let opened = sealer.open_record(b"id-1", &["curp", "cic"], &sealed).unwrap();
        assert_eq!(opened, vec![b"BOXW310820HNERXN09".to_vec(), b"123456789".to_vec()]);
        assert!(sealer.open_record(b"id-1", &["cic", "curp"], &sealed).is_err());
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

    #[test]
    fn sealed_records_bind_each_field_and_reject_tampering() {
        let sealer = sealer();
        let fields: [(&str, &[u8]); 3] = [("curp", b"BOXW310820HNERXN09"), ("cic", b""), ("ocr", b"1234567890123")];
        let sealed = sealer.seal_record(b"id-1", &fields);
        let names = ["curp", "cic", "ocr"];
        let opened = sealer.open_record(b"id-1", &names, &sealed).unwrap();
        assert_eq!(opened, vec![b"BOXW310820HNERXN09".to_vec(), Vec::new(), b"1234567890123".to_vec()]);
        assert!(sealer.open_record(b"id-2", &names, &sealed).is_err());
        assert!(sealer.open_record(b"id-1", &["curp", "ocr", "cic"], &sealed).is_err());
        assert!(sealer.open_record(b"id-1", &names[..2], &sealed).is_err());
        for position in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[position] ^= 0x40;
            assert!(sealer.open_record(b"id-1", &names, &tampered).is_err(), "byte {position}");
        }
        assert!(!sealed.windows(13).any(|window| window == b"1234567890123"));
        let again = sealer.seal_record(b"id-1", &fields);
        assert_ne!(again[1..13], sealed[1..13], "every record gets fresh nonces");
    }

    proptest! {
        #[test]
        fn record_round_trip(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let sealer = sealer();
            let names: Vec<String> = (0..values.len()).map(|position| format!("field{position}")).collect();
            let fields: Vec<(&str, &[u8])> =
                names.iter().map(String::as_str).zip(values.iter().map(Vec::as_slice)).collect();
            let sealed = sealer.seal_record(b"r", &fields);
            let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
            prop_assert_eq!(sealer.open_record(b"r", &name_refs, &sealed).unwrap(), values);
        }

        #[test]
        fn first_format_record_round_trip(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let sealer = sealer();
            let names: Vec<String> = (0..values.len()).map(|position| format!("field{position}")).collect();
            let fields: Vec<(&str, &[u8])> =
                names.iter().map(String::as_str).zip(values.iter().map(Vec::as_slice)).collect();
            let sealed = seal_record_per_field(&sealer, b"r", &fields);
            let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
            prop_assert_eq!(sealer.open_record(b"r", &name_refs, &sealed).unwrap(), values);
        }

        #[test]
        fn open_record_never_panics(garbage in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = sealer().open_record(b"r", &["a", "b", "c"], &garbage);
        }

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
