//! Trust: signed trust lists of issuer keys, DCC signer certificates and verifier keys.
//!
//! # Trust list wire format
//!
//! A trust list is a COSE_Sign1 (tag 18) signed by the trust-list root key (Ed25519
//! recommended) with protected header `{1: alg, 4: kid, 16: "application/certeza-trustlist+cwt"}`.
//! Its payload is a CBOR map:
//!
//! ```text
//! { 6: iat, ? 4: exp, "seq": uint,
//!   "keys": [ { "iss": tstr, "alg": int, "key": bstr, "nbf": int, ? "exp": int } ] }
//! ```
//!
//! `key` is the raw public key (32 bytes Ed25519, or the 65-byte uncompressed P-256 point);
//! its kid is the first 8 bytes of SHA-256 of those bytes. `nbf`/`exp` bound the key's
//! *issuance window*: a credential verifies when its `iat` lies in `[nbf, exp)`, so a
//! retired key keeps its old credentials verifiable. The file is the raw COSE bytes.

use crate::cbor::{self, Value};
use crate::cose::Sign1;
use crate::der::{Certificate, parse_pem_certificates};
use crate::error::{Error, Result};
use crate::keys::{Algorithm, IssuerKey, Kid, PublicKey};

/// The COSE `typ` of a Certeza trust list.
pub const TRUST_LIST_TYPE: &str = "application/certeza-trustlist+cwt";

/// Where a trusted key came from; Certeza credentials only verify against trust-list keys
/// and `HC1:` codes only against certificates.
#[derive(Debug, Clone)]
pub enum KeyOrigin {
    /// A Certeza trust list entry.
    TrustList,
    /// An X.509 document-signer certificate (EU DCC).
    Certificate {
        /// The certificate's extended key usage OIDs.
        extended_key_usages: Vec<String>,
    },
}

/// One trusted public key.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// Its kid.
    pub kid: Kid,
    /// The key.
    pub key: PublicKey,
    /// The issuer name credentials signed by it must carry (`iss`), if any.
    pub issuer: Option<String>,
    /// Start of the issuance window (unix seconds), if bounded.
    pub not_before: Option<i64>,
    /// End (exclusive) of the issuance window, if bounded.
    pub not_after: Option<i64>,
    /// Where it came from.
    pub origin: KeyOrigin,
}

impl TrustedKey {
    /// Whether a credential issued at `iat` falls in this key's issuance window.
    #[must_use]
    pub fn covers(&self, iat: i64) -> bool {
        self.not_before.is_none_or(|nbf| iat >= nbf) && self.not_after.is_none_or(|exp| iat < exp)
    }
}

/// A symmetric key of an authorised verifier, able to open sealed claims.
#[derive(Clone)]
pub struct VerifierKey {
    /// The key id written into the COSE_Encrypt0 unprotected header.
    pub id: Vec<u8>,
    key: [u8; 32],
}

impl core::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifierKey").field("id", &crate::keys::hex(&self.id)).finish_non_exhaustive()
    }
}

impl VerifierKey {
    /// A verifier key from its id and 32-byte AES-256 key.
    #[must_use]
    pub fn new(id: &[u8], key: [u8; 32]) -> Self {
        VerifierKey { id: id.to_vec(), key }
    }

    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.key
    }
}

/// One entry of a trust list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustListEntry {
    /// The issuer name (`iss`) of credentials signed by this key.
    pub issuer: String,
    /// The public key.
    pub key: PublicKey,
    /// Start of the issuance window.
    pub not_before: i64,
    /// End (exclusive) of the issuance window; `None` while the key is current.
    pub not_after: Option<i64>,
}

/// A trust list: the issuer keys a verifier accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    /// When it was signed.
    pub issued_at: i64,
    /// When verifiers should stop using it, if ever.
    pub expires_at: Option<i64>,
    /// A version number that only grows.
    pub sequence: u64,
    /// The keys.
    pub entries: Vec<TrustListEntry>,
}

impl TrustList {
    /// Signs the list with the root key, returning the COSE bytes (the file format).
    #[must_use]
    pub fn sign(&self, root: &IssuerKey) -> Vec<u8> {
        let keys = self
            .entries
            .iter()
            .map(|e| {
                let mut m = vec![
                    (Value::text("iss"), Value::text(&e.issuer)),
                    (Value::text("alg"), Value::int(e.key.algorithm().cose_id())),
                    (Value::text("key"), Value::Bytes(e.key.to_raw())),
                    (Value::text("nbf"), Value::int(e.not_before)),
                ];
                if let Some(exp) = e.not_after {
                    m.push((Value::text("exp"), Value::int(exp)));
                }
                cbor::sort_map(&mut m);
                Value::Map(m)
            })
            .collect();
        let mut claims = vec![
            (Value::int(6), Value::int(self.issued_at)),
            (Value::text("seq"), Value::Unsigned(self.sequence)),
            (Value::text("keys"), Value::Array(keys)),
        ];
        if let Some(exp) = self.expires_at {
            claims.push((Value::int(4), Value::int(exp)));
        }
        cbor::sort_map(&mut claims);
        let typ = [(Value::int(16), Value::text(TRUST_LIST_TYPE))];
        Sign1::sign(Value::Map(claims).to_vec(), root, &typ).to_bytes()
    }

    /// Verifies a signed trust list against the root public key at time `now`.
    ///
    /// # Errors
    ///
    /// [`Error::Signature`] / [`Error::UnknownKey`] when the root did not sign it,
    /// [`Error::Stale`] when expired, [`Error::TrustList`] when malformed.
    pub fn verify(bytes: &[u8], root: &PublicKey, now: i64) -> Result<TrustList> {
        let cose = Sign1::from_bytes(bytes)?;
        if cose.kid(true) != Some(&root.kid().0[..]) {
            return Err(Error::UnknownKey);
        }
        if cose.algorithm(true)? != root.algorithm() {
            return Err(Error::Algorithm);
        }
        root.verify(&cose.to_be_signed(), &cose.signature)?;
        let claims = cbor::decode(&cose.payload)?;
        let bad = Error::TrustList("malformed payload");
        let issued_at = claims.get_int(6).and_then(Value::as_i64).ok_or(bad.clone())?;
        let expires_at = match claims.get_int(4) {
            Some(v) => Some(v.as_i64().ok_or(bad.clone())?),
            None => None,
        };
        if expires_at.is_some_and(|exp| now >= exp) || now < issued_at {
            return Err(Error::Stale("trust list"));
        }
        let sequence = match claims.get_text("seq") {
            Some(Value::Unsigned(n)) => *n,
            _ => return Err(bad),
        };
        let Some(Value::Array(items)) = claims.get_text("keys") else {
            return Err(bad);
        };
        let mut entries = Vec::with_capacity(items.len());
        for item in items {
            let issuer = item.get_text("iss").and_then(Value::as_text).ok_or(bad.clone())?;
            let alg = item
                .get_text("alg")
                .and_then(Value::as_i64)
                .and_then(Algorithm::from_cose_id)
                .ok_or(Error::Algorithm)?;
            let raw = item.get_text("key").and_then(Value::as_bytes).ok_or(bad.clone())?;
            let not_before = item.get_text("nbf").and_then(Value::as_i64).ok_or(bad.clone())?;
            let not_after = match item.get_text("exp") {
                Some(v) => Some(v.as_i64().ok_or(bad.clone())?),
                None => None,
            };
            entries.push(TrustListEntry {
                issuer: issuer.to_owned(),
                key: PublicKey::from_raw(alg, raw)?,
                not_before,
                not_after,
            });
        }
        Ok(TrustList { issued_at, expires_at, sequence, entries })
    }
}

/// Everything a verifier trusts: issuer keys, DCC signer certificates and verifier keys.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: Vec<TrustedKey>,
    verifier_keys: Vec<VerifierKey>,
}

impl TrustStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads a `--trust` file: a PEM file of X.509 document-signer certificates, or a signed
    /// Certeza trust list (which needs the root public key).
    ///
    /// # Errors
    ///
    /// As [`TrustStore::add_pem`] or [`TrustList::verify`]; [`Error::TrustList`] when a trust
    /// list is given without a root key.
    pub fn load(bytes: &[u8], root: Option<&PublicKey>, now: i64) -> Result<Self> {
        let mut store = TrustStore::new();
        let looks_pem = bytes.trim_ascii_start().starts_with(b"-----BEGIN");
        if looks_pem {
            let text = std::str::from_utf8(bytes).map_err(|_| Error::Certificate("not UTF-8"))?;
            store.add_pem(text)?;
        } else {
            let root = root.ok_or(Error::TrustList("a trust list needs the root public key"))?;
            store.add_trust_list(&TrustList::verify(bytes, root, now)?);
        }
        Ok(store)
    }

    /// Adds one key.
    pub fn add_key(&mut self, key: TrustedKey) {
        self.keys.push(key);
    }

    /// Adds an issuer key with an open issuance window (convenient in tests and demos).
    pub fn add_issuer(&mut self, key: &IssuerKey) {
        let public = key.public();
        self.keys.push(TrustedKey {
            kid: public.kid(),
            key: public,
            issuer: Some(key.issuer().to_owned()),
            not_before: None,
            not_after: None,
            origin: KeyOrigin::TrustList,
        });
    }

    /// Adds every entry of a verified trust list.
    pub fn add_trust_list(&mut self, list: &TrustList) {
        for e in &list.entries {
            self.keys.push(TrustedKey {
                kid: e.key.kid(),
                key: e.key.clone(),
                issuer: Some(e.issuer.clone()),
                not_before: Some(e.not_before),
                not_after: e.not_after,
                origin: KeyOrigin::TrustList,
            });
        }
    }

    /// Adds a DCC document-signer certificate. Its kid is the first 8 bytes of SHA-256 of
    /// the DER; its validity is not enforced (DCC rules differ per country).
    pub fn add_certificate(&mut self, cert: &Certificate) {
        self.keys.push(TrustedKey {
            kid: cert.kid,
            key: cert.public_key.clone(),
            issuer: None,
            not_before: None,
            not_after: None,
            origin: KeyOrigin::Certificate { extended_key_usages: cert.extended_key_usages.clone() },
        });
    }

    /// Adds every certificate of a PEM file; returns how many.
    ///
    /// # Errors
    ///
    /// [`Error::Certificate`] / [`Error::Key`] when a block cannot be used.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize> {
        let certs = parse_pem_certificates(pem)?;
        for c in &certs {
            self.add_certificate(c);
        }
        Ok(certs.len())
    }

    /// Adds a verifier key able to open sealed claims.
    pub fn add_verifier_key(&mut self, key: VerifierKey) {
        self.verifier_keys.push(key);
    }

    /// All trusted keys.
    #[must_use]
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    pub(crate) fn candidates<'a>(&'a self, kid: &'a [u8]) -> impl Iterator<Item = &'a TrustedKey> + 'a {
        self.keys.iter().filter(move |k| k.kid.0[..] == *kid)
    }

    pub(crate) fn verifier_key(&self, id: &[u8]) -> Option<&VerifierKey> {
        self.verifier_keys.iter().find(|k| k.id == id)
    }
}
