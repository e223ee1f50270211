//! C2SP tlog-cosignature `cosignature/v1` (Ed25519) witness cosignatures.
//!
//! The cosigner signs `cosignature/v1\ntime <t>\n` followed by the whole
//! checkpoint note text. The signature line payload is `key ID (4) ||
//! timestamp (8, big-endian) || Ed25519 signature (64)`, and the key ID is
//! computed with algorithm byte `0x04`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature as EdSignature, Signer as _, SigningKey, VerifyingKey};

use crate::Error;
use crate::note::{NoteSignature, Verifier, format_vkey, is_valid_key_name, key_hash, parse_vkey, signature_line};

/// The signature algorithm byte for Ed25519 timestamped cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The largest timestamp a cosignature may carry (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Builds the signed message for a cosignature at `timestamp` over the
/// checkpoint note text `checkpoint_text`.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// An Ed25519 cosigner. The secret key is zeroized when dropped.
pub struct CosignatureSigner {
    name: String,
    hash: u32,
    key: SigningKey,
}

impl std::fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.hash))
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// Creates a cosigner named `name` from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<CosignatureSigner, Error> {
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName(name.to_owned()));
        }
        let key = SigningKey::from_bytes(&seed);
        let hash = key_hash(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(CosignatureSigner { name: name.to_owned(), hash, key })
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// The verifier key string (algorithm byte `0x04`).
    pub fn verifier_key_string(&self) -> String {
        format_vkey(&self.name, ALG_COSIGNATURE_V1, self.key.verifying_key().as_bytes())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier { name: self.name.clone(), hash: self.hash, key: self.key.verifying_key() }
    }

    /// Cosigns the checkpoint note text at `timestamp` (POSIX seconds) and
    /// returns the signature line, ending in a newline.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<String, Error> {
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::InvalidArgument("timestamp exceeds 2^63 - 1".to_owned()));
        }
        if !checkpoint_text.ends_with('\n') {
            return Err(Error::InvalidArgument("checkpoint text does not end in a newline".to_owned()));
        }
        let sig = self.key.sign(cosigned_message(checkpoint_text, timestamp).as_bytes());
        let mut payload = timestamp.to_be_bytes().to_vec();
        payload.extend_from_slice(&sig.to_bytes());
        Ok(signature_line(&self.name, self.hash, &payload))
    }
}

/// A verifier for `cosignature/v1` cosignatures of one cosigner.
///
/// It implements [`Verifier`], so it can be passed to
/// [`crate::note::open_note`] next to log verifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    hash: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a verifier key string whose algorithm byte is `0x04`.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, Error> {
        let (name, hash, key) = parse_vkey(vkey, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, hash, key })
    }

    /// The verifier key string.
    pub fn verifier_key_string(&self) -> String {
        format_vkey(&self.name, ALG_COSIGNATURE_V1, self.key.as_bytes())
    }

    /// Verifies a cosignature over `checkpoint_text` given the signature bytes
    /// after the key ID, returning the signed timestamp.
    pub fn verify_cosignature(&self, checkpoint_text: &str, sig: &[u8]) -> Result<u64, Error> {
        let (timestamp, ed) = split_payload(sig)?;
        let msg = cosigned_message(checkpoint_text, timestamp);
        self.key
            .verify_strict(msg.as_bytes(), &EdSignature::from_bytes(&ed))
            .map_err(|_| Error::InvalidSignature { name: self.name.clone(), key_hash: self.hash })?;
        Ok(timestamp)
    }

    /// Verifies a full signature line (with or without its final newline)
    /// over `checkpoint_text`, returning the signed timestamp.
    pub fn verify_line(&self, checkpoint_text: &str, line: &str) -> Result<u64, Error> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let rest =
            line.strip_prefix("\u{2014} ").ok_or(Error::MalformedCosignature("line lacks the em dash prefix"))?;
        let (name, b64) = rest.split_once(' ').ok_or(Error::MalformedCosignature("line lacks a space"))?;
        let raw = STANDARD.decode(b64).map_err(|_| Error::MalformedCosignature("payload is not base64"))?;
        if name != self.name || raw.get(..4) != Some(&self.hash.to_be_bytes()[..]) {
            return Err(Error::MalformedCosignature("line is for a different key"));
        }
        self.verify_cosignature(checkpoint_text, &raw[4..])
    }
}

fn split_payload(sig: &[u8]) -> Result<(u64, [u8; 64]), Error> {
    if sig.len() != 72 {
        return Err(Error::MalformedCosignature("payload is not 72 bytes"));
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&sig[..8]);
    let timestamp = u64::from_be_bytes(ts);
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::MalformedCosignature("timestamp exceeds 2^63 - 1"));
    }
    let mut ed = [0u8; 64];
    ed.copy_from_slice(&sig[8..]);
    Ok((timestamp, ed))
}

/// Returns the timestamp carried by a cosignature, without verifying it.
pub fn cosignature_timestamp(sig: &NoteSignature) -> Result<u64, Error> {
    let raw = STANDARD.decode(&sig.base64).map_err(|_| Error::MalformedCosignature("payload is not base64"))?;
    Ok(split_payload(raw.get(4..).unwrap_or_default())?.0)
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_hash(&self) -> u32 {
        self.hash
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match std::str::from_utf8(msg) {
            Ok(text) => self.verify_cosignature(text, sig).is_ok(),
            Err(_) => false,
        }
    }
}
