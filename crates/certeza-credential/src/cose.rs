//! COSE_Sign1 and COSE_Encrypt0 (RFC 9052), as far as this crate needs them.

use crate::cbor::{self, Value, map_get};
use crate::error::{Error, Result};
use crate::keys::{Algorithm, IssuerKey};

/// The CBOR tag of COSE_Sign1.
pub const TAG_SIGN1: u64 = 18;
/// The CBOR tag of a CWT.
pub const TAG_CWT: u64 = 61;
/// The CBOR tag of COSE_Encrypt0.
pub const TAG_ENCRYPT0: u64 = 16;

const HDR_ALG: i64 = 1;
const HDR_KID: i64 = 4;
const HDR_IV: i64 = 5;
/// The COSE algorithm identifier of AES-256-GCM.
pub const ALG_A256GCM: i64 = 3;

/// How a COSE_Sign1 was wrapped on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapping {
    /// No tag.
    Untagged,
    /// Tag 18.
    Sign1,
    /// Tag 61 (CWT) around tag 18.
    CwtSign1,
}

/// A parsed COSE_Sign1.
#[derive(Debug, Clone, PartialEq)]
pub struct Sign1 {
    /// The serialized protected header, exactly as received (it is what was signed).
    pub protected: Vec<u8>,
    /// The decoded protected header.
    pub protected_map: Vec<(Value, Value)>,
    /// The unprotected header.
    pub unprotected: Vec<(Value, Value)>,
    /// The payload.
    pub payload: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// The wrapping that was found.
    pub wrapping: Wrapping,
}

impl Sign1 {
    /// Parses COSE_Sign1 bytes: tag 18, untagged, or tag 61 around tag 18; nothing else.
    ///
    /// # Errors
    ///
    /// [`Error::Cbor`] for malformed CBOR, [`Error::Cose`] for a wrong structure.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (wrapping, inner) = match cbor::decode(bytes)? {
            Value::Tag(TAG_CWT, inner) => match *inner {
                Value::Tag(TAG_SIGN1, inner) => (Wrapping::CwtSign1, *inner),
                _ => return Err(Error::Cose("tag 61 must wrap tag 18")),
            },
            Value::Tag(TAG_SIGN1, inner) => (Wrapping::Sign1, *inner),
            Value::Tag(..) => return Err(Error::Cose("unexpected tag")),
            other => (Wrapping::Untagged, other),
        };
        let Value::Array(items) = inner else {
            return Err(Error::Cose("not an array"));
        };
        let [protected, unprotected, payload, signature] =
            <[Value; 4]>::try_from(items).map_err(|_| Error::Cose("COSE_Sign1 must have four elements"))?;
        let Value::Bytes(protected) = protected else {
            return Err(Error::Cose("protected header must be a byte string"));
        };
        let protected_map = if protected.is_empty() {
            Vec::new()
        } else {
            match cbor::decode(&protected)? {
                Value::Map(m) => m,
                _ => return Err(Error::Cose("protected header must be a map")),
            }
        };
        let Value::Map(unprotected) = unprotected else {
            return Err(Error::Cose("unprotected header must be a map"));
        };
        let Value::Bytes(payload) = payload else {
            return Err(Error::Cose("payload must be an attached byte string"));
        };
        let Value::Bytes(signature) = signature else {
            return Err(Error::Cose("signature must be a byte string"));
        };
        Ok(Sign1 { protected, protected_map, unprotected, payload, signature, wrapping })
    }

    /// Serializes back to bytes with the same wrapping.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let array = Value::Array(vec![
            Value::Bytes(self.protected.clone()),
            Value::Map(self.unprotected.clone()),
            Value::Bytes(self.payload.clone()),
            Value::Bytes(self.signature.clone()),
        ]);
        let v = match self.wrapping {
            Wrapping::Untagged => array,
            Wrapping::Sign1 => Value::Tag(TAG_SIGN1, Box::new(array)),
            Wrapping::CwtSign1 => Value::Tag(TAG_CWT, Box::new(Value::Tag(TAG_SIGN1, Box::new(array)))),
        };
        v.to_vec()
    }

    fn header(&self, label: i64, protected_only: bool) -> Option<&Value> {
        let key = Value::int(label);
        map_get(&self.protected_map, &key)
            .or_else(|| if protected_only { None } else { map_get(&self.unprotected, &key) })
    }

    /// The algorithm: from the protected header, else (when allowed) the unprotected one.
    ///
    /// # Errors
    ///
    /// [`Error::Algorithm`] when absent or unknown.
    pub fn algorithm(&self, protected_only: bool) -> Result<Algorithm> {
        self.header(HDR_ALG, protected_only)
            .and_then(Value::as_i64)
            .and_then(Algorithm::from_cose_id)
            .ok_or(Error::Algorithm)
    }

    /// The kid: from the protected header, else (when allowed) the unprotected one.
    #[must_use]
    pub fn kid(&self, protected_only: bool) -> Option<&[u8]> {
        self.header(HDR_KID, protected_only).and_then(Value::as_bytes)
    }

    /// The `Sig_structure` of RFC 9052 §4.4 with an empty external AAD.
    #[must_use]
    pub fn to_be_signed(&self) -> Vec<u8> {
        sig_structure(&self.protected, &self.payload)
    }

    /// Signs a payload: protected header `{1: alg, 4: kid}`, empty unprotected header, tag 18.
    #[must_use]
    pub fn sign(payload: Vec<u8>, key: &IssuerKey, extra_protected: &[(Value, Value)]) -> Self {
        let mut protected_map = vec![
            (Value::int(HDR_ALG), Value::int(key.algorithm().cose_id())),
            (Value::int(HDR_KID), Value::Bytes(key.kid().0.to_vec())),
        ];
        protected_map.extend_from_slice(extra_protected);
        cbor::sort_map(&mut protected_map);
        let protected = Value::Map(protected_map.clone()).to_vec();
        let signature = key.sign(&sig_structure(&protected, &payload));
        Sign1 { protected, protected_map, unprotected: Vec::new(), payload, signature, wrapping: Wrapping::Sign1 }
    }
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    Value::Array(vec![
        Value::text("Signature1"),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ])
    .to_vec()
}

fn enc_structure(protected: &[u8]) -> Vec<u8> {
    Value::Array(vec![Value::text("Encrypt0"), Value::Bytes(protected.to_vec()), Value::Bytes(Vec::new())]).to_vec()
}

/// Encrypts a plaintext as a tagged COSE_Encrypt0 with AES-256-GCM.
///
/// The protected header is `{1: 3}`; the unprotected header holds the key id (4) and the
/// 12-byte IV (5). The IV must never repeat under one key.
///
/// # Errors
///
/// [`Error::Sealed`] when encryption fails.
pub fn encrypt0(key: &[u8; 32], key_id: &[u8], iv: &[u8; 12], plaintext: &[u8]) -> Result<Value> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let protected = Value::Map(vec![(Value::int(HDR_ALG), Value::int(ALG_A256GCM))]).to_vec();
    let aad = enc_structure(&protected);
    let cipher = aes_gcm::Aes256Gcm::new(key.into());
    let ciphertext = cipher
        .encrypt(iv.into(), Payload { msg: plaintext, aad: &aad })
        .map_err(|_| Error::Sealed("encryption failed"))?;
    Ok(Value::Tag(
        TAG_ENCRYPT0,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![
                (Value::int(HDR_KID), Value::Bytes(key_id.to_vec())),
                (Value::int(HDR_IV), Value::Bytes(iv.to_vec())),
            ]),
            Value::Bytes(ciphertext),
        ])),
    ))
}

/// The parts of a COSE_Encrypt0 needed to find the key and decrypt.
#[derive(Debug, Clone, PartialEq)]
pub struct Encrypt0 {
    /// The serialized protected header.
    pub protected: Vec<u8>,
    /// The key id from the unprotected header.
    pub key_id: Vec<u8>,
    /// The IV.
    pub iv: [u8; 12],
    /// The ciphertext with its tag.
    pub ciphertext: Vec<u8>,
}

impl Encrypt0 {
    /// Reads a COSE_Encrypt0 (tag 16 or untagged) with algorithm AES-256-GCM.
    ///
    /// # Errors
    ///
    /// [`Error::Sealed`] when the structure or algorithm is wrong.
    pub fn from_value(v: &Value) -> Result<Self> {
        let v = match v {
            Value::Tag(TAG_ENCRYPT0, inner) => inner.as_ref(),
            Value::Tag(..) => return Err(Error::Sealed("unexpected tag")),
            other => other,
        };
        let Value::Array(items) = v else {
            return Err(Error::Sealed("not an array"));
        };
        let [Value::Bytes(protected), Value::Map(unprotected), Value::Bytes(ciphertext)] = items.as_slice() else {
            return Err(Error::Sealed("COSE_Encrypt0 must have three elements"));
        };
        let ph = cbor::decode(protected)?;
        if ph.get_int(HDR_ALG).and_then(Value::as_i64) != Some(ALG_A256GCM) {
            return Err(Error::Sealed("algorithm must be A256GCM"));
        }
        let key_id = map_get(unprotected, &Value::int(HDR_KID))
            .and_then(Value::as_bytes)
            .ok_or(Error::Sealed("missing key id"))?
            .to_vec();
        let iv: [u8; 12] = map_get(unprotected, &Value::int(HDR_IV))
            .and_then(Value::as_bytes)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Sealed("IV must be 12 bytes"))?;
        Ok(Encrypt0 { protected: protected.clone(), key_id, iv, ciphertext: ciphertext.clone() })
    }

    /// Decrypts with the given key.
    ///
    /// # Errors
    ///
    /// [`Error::Sealed`] when authentication fails.
    pub fn decrypt(&self, key: &[u8; 32]) -> Result<Vec<u8>> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let aad = enc_structure(&self.protected);
        aes_gcm::Aes256Gcm::new(key.into())
            .decrypt((&self.iv).into(), Payload { msg: &self.ciphertext, aad: &aad })
            .map_err(|_| Error::Sealed("decryption failed"))
    }
}
