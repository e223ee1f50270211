//! Revocation with the IETF Token Status List (draft-ietf-oauth-status-list), CWT form.
//!
//! The signed list is a COSE_Sign1 (tag 18) with protected header
//! `{1: alg, 4: kid, 16: "application/statuslist+cwt"}` and claims
//! `{2: uri, 6: iat, ? 4: exp, ? 65534: ttl, 65533: {"bits": 1, "lst": zlib(bitstring)}}`.
//! Entry `i` lives in byte `i / 8`, bit `i % 8` counted from the least significant bit;
//! a set bit means *invalid* (revoked). Lists with 2, 4 or 8 bits per entry are read too,
//! and any non-zero status counts as revoked. Credentials point at an entry with claim
//! 65535: `{"status_list": {"idx": uint, "uri": tstr}}`.

use crate::cbor::{self, Value};
use crate::cose::Sign1;
use crate::error::{Error, Result};
use crate::keys::IssuerKey;
use crate::trust::{KeyOrigin, TrustStore};
use crate::zlib;

/// The COSE `typ` of a status list token.
pub const STATUS_LIST_TYPE: &str = "application/statuslist+cwt";
/// The largest decompressed status list accepted (128 Mi one-bit entries).
pub const MAX_STATUS_LIST_BYTES: usize = 16 * 1024 * 1024;

const CLAIM_SUB: i64 = 2;
const CLAIM_TTL: i64 = 65534;
const CLAIM_STATUS_LIST: i64 = 65533;

/// A credential's pointer into a status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// The index of the credential's entry.
    pub idx: u64,
    /// The list's URI (the `sub` of the status list token).
    pub uri: String,
}

impl StatusRef {
    pub(crate) fn to_value(&self) -> Value {
        Value::Map(vec![(
            Value::text("status_list"),
            Value::Map(vec![
                (Value::text("idx"), Value::Unsigned(self.idx)),
                (Value::text("uri"), Value::text(&self.uri)),
            ]),
        )])
    }

    pub(crate) fn from_value(v: &Value) -> Result<Self> {
        let bad = Error::Claims("malformed status claim");
        let sl = v.get_text("status_list").ok_or(bad.clone())?;
        let idx = match sl.get_text("idx") {
            Some(Value::Unsigned(n)) => *n,
            _ => return Err(bad),
        };
        let uri = sl.get_text("uri").and_then(Value::as_text).ok_or(bad)?;
        Ok(StatusRef { idx, uri: uri.to_owned() })
    }
}

/// A status list: one status per credential index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    uri: String,
    bits: u8,
    data: Vec<u8>,
    issued_at: Option<i64>,
    expires_at: Option<i64>,
}

impl StatusList {
    /// A new one-bit list of `size` entries, all valid.
    #[must_use]
    pub fn new(uri: &str, size: usize) -> Self {
        StatusList { uri: uri.to_owned(), bits: 1, data: vec![0; size.div_ceil(8)], issued_at: None, expires_at: None }
    }

    /// The list's URI.
    #[must_use]
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// How many entries it holds.
    #[must_use]
    pub fn len(&self) -> u64 {
        (self.data.len() as u64) * 8 / u64::from(self.bits)
    }

    /// Whether it holds no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// When the signed list was issued (for a list read with [`StatusList::from_signed`]).
    #[must_use]
    pub fn issued_at(&self) -> Option<i64> {
        self.issued_at
    }

    /// The status value of an entry (0 = valid), or `None` when out of range.
    #[must_use]
    pub fn status(&self, idx: u64) -> Option<u8> {
        if idx >= self.len() {
            return None;
        }
        let bit = idx.checked_mul(u64::from(self.bits))?;
        let byte = *self.data.get(usize::try_from(bit / 8).ok()?)?;
        let mask = u8::try_from((1u16 << self.bits) - 1).unwrap_or(u8::MAX);
        Some((byte >> (bit % 8)) & mask)
    }

    /// Whether an entry is revoked (any non-zero status), or `None` when out of range.
    #[must_use]
    pub fn is_revoked(&self, idx: u64) -> Option<bool> {
        self.status(idx).map(|s| s != 0)
    }

    /// Marks an entry revoked.
    ///
    /// # Errors
    ///
    /// [`Error::StatusList`] when the index is out of range.
    pub fn set_revoked(&mut self, idx: u64) -> Result<()> {
        self.set(idx, true)
    }

    /// Marks an entry valid again.
    ///
    /// # Errors
    ///
    /// [`Error::StatusList`] when the index is out of range.
    pub fn set_valid(&mut self, idx: u64) -> Result<()> {
        self.set(idx, false)
    }

    fn set(&mut self, idx: u64, revoked: bool) -> Result<()> {
        if idx >= self.len() || self.bits != 1 {
            return Err(Error::StatusList("index out of range"));
        }
        let byte = usize::try_from(idx / 8).map_err(|_| Error::StatusList("index out of range"))?;
        let slot = self.data.get_mut(byte).ok_or(Error::StatusList("index out of range"))?;
        let mask = 1u8 << (idx % 8);
        if revoked {
            *slot |= mask;
        } else {
            *slot &= !mask;
        }
        Ok(())
    }

    /// Signs the list as a status list CWT, valid from `now` until `expires_at` if given.
    #[must_use]
    pub fn sign(&self, key: &IssuerKey, now: i64, expires_at: Option<i64>, ttl: Option<u64>) -> Vec<u8> {
        let mut claims = vec![
            (Value::int(CLAIM_SUB), Value::text(&self.uri)),
            (Value::int(6), Value::int(now)),
            (
                Value::int(CLAIM_STATUS_LIST),
                Value::Map(vec![
                    (Value::text("bits"), Value::Unsigned(u64::from(self.bits))),
                    (Value::text("lst"), Value::Bytes(zlib::compress(&self.data))),
                ]),
            ),
        ];
        if let Some(exp) = expires_at {
            claims.push((Value::int(4), Value::int(exp)));
        }
        if let Some(ttl) = ttl {
            claims.push((Value::int(CLAIM_TTL), Value::Unsigned(ttl)));
        }
        cbor::sort_map(&mut claims);
        let typ = [(Value::int(16), Value::text(STATUS_LIST_TYPE))];
        Sign1::sign(Value::Map(claims).to_vec(), key, &typ).to_bytes()
    }

    /// Reads and verifies a signed status list (for example a cached file) with the
    /// issuer keys of `trust`, at time `now`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`], [`Error::Signature`], [`Error::Stale`] when expired, or
    /// [`Error::StatusList`] when malformed.
    pub fn from_signed(bytes: &[u8], trust: &TrustStore, now: i64) -> Result<Self> {
        let cose = Sign1::from_bytes(bytes)?;
        let alg = cose.algorithm(true)?;
        let kid = cose.kid(true).ok_or(Error::UnknownKey)?;
        let claims = cbor::decode(&cose.payload)?;
        let bad = Error::StatusList("malformed token");
        let issued_at = claims.get_int(6).and_then(Value::as_i64).ok_or(bad.clone())?;
        let tbs = cose.to_be_signed();
        let mut verified = false;
        for k in trust.candidates(kid) {
            if matches!(k.origin, KeyOrigin::TrustList)
                && k.key.algorithm() == alg
                && k.covers(issued_at)
                && k.key.verify(&tbs, &cose.signature).is_ok()
            {
                verified = true;
                break;
            }
        }
        if !verified {
            return Err(Error::Signature);
        }
        let expires_at = match claims.get_int(4) {
            Some(v) => Some(v.as_i64().ok_or(bad.clone())?),
            None => None,
        };
        if expires_at.is_some_and(|exp| now >= exp) {
            return Err(Error::Stale("status list"));
        }
        let uri = claims.get_int(CLAIM_SUB).and_then(Value::as_text).ok_or(bad.clone())?;
        let sl = claims.get_int(CLAIM_STATUS_LIST).ok_or(bad.clone())?;
        let bits = match sl.get_text("bits") {
            Some(Value::Unsigned(b @ (1 | 2 | 4 | 8))) => u8::try_from(*b).map_err(|_| bad.clone())?,
            _ => return Err(bad),
        };
        let lst = sl.get_text("lst").and_then(Value::as_bytes).ok_or(bad)?;
        let data = zlib::decompress_bounded(lst, MAX_STATUS_LIST_BYTES)?;
        Ok(StatusList { uri: uri.to_owned(), bits, data, issued_at: Some(issued_at), expires_at })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn draft_example_bit_order() {
        // The draft's one-bit example: statuses 1,0,0,1,1,1,0,1 | 1,1,0,0,0,1,0,1 give the
        // bytes b9 a3.
        let mut l = StatusList::new("https://example.com/statuslists/1", 16);
        for i in [0, 3, 4, 5, 7, 8, 9, 13, 15] {
            l.set_revoked(i).unwrap();
        }
        assert_eq!(l.data, vec![0xb9, 0xa3]);
        assert_eq!(l.is_revoked(1), Some(false));
        assert_eq!(l.is_revoked(15), Some(true));
        assert_eq!(l.is_revoked(16), None);
        assert!(l.set_revoked(16).is_err());
    }
}
