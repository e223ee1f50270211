//! The log entry: a record of an action that carries no personal data.
//!
//! The canonical encoding is a compact JSON object with a fixed key order
//! and no whitespace:
//!
//! ```text
//! {"v":1,"kind":"verification","time":1700000000000,"actor":"…","purpose":"…","subject":"<hex>","details":"<hex>"}
//! ```
//!
//! `subject` and `details` are omitted when absent. Hashes are lower-case
//! hex. Strings are escaped minimally: `"` and `\` with a backslash, control
//! characters as `\b`, `\f`, `\n`, `\r`, `\t` or `\u00xx` (lower-case hex),
//! and everything else as literal UTF-8. Decoding accepts only this exact
//! form, so every entry has exactly one encoding and one leaf hash.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::merkle::Hash;

/// The current entry format version.
pub const ENTRY_VERSION: u8 = 1;

/// The longest `kind`, in bytes.
pub const MAX_KIND_LEN: usize = 64;

/// The longest `actor` or `purpose`, in bytes.
pub const MAX_TEXT_LEN: usize = 256;

/// A log entry. It holds no personal data: the subject appears only as a
/// salted commitment, and the details only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The format version; always 1.
    pub v: u8,
    /// What happened, e.g. `verification`, `registry.import`,
    /// `credential.issued`: lower-case ASCII letters and digits, with `.`,
    /// `_` and `-` after the first character.
    pub kind: String,
    /// When it happened, in milliseconds since the Unix epoch.
    pub time_unix_millis: u64,
    /// The service or official that acted (an identifier, not a person's data).
    pub actor: String,
    /// The legal purpose of the action.
    pub purpose: String,
    /// The salted commitment to the subject, see [`subject_commitment`].
    pub subject_commitment: Option<Hash>,
    /// The hash of the action's details, kept elsewhere.
    pub details_hash: Option<Hash>,
}

/// Commits to a subject: SHA-256(subject token || salt).
pub fn subject_commitment(subject_token: &[u8], salt: &[u8; 16]) -> Hash {
    let mut h = Sha256::new();
    h.update(subject_token);
    h.update(salt);
    h.finalize().into()
}

fn valid_kind(kind: &str) -> bool {
    let b = kind.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_KIND_LEN
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
}

fn valid_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_TEXT_LEN
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < '\u{20}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn hex(h: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(h.len() * 2);
    for b in h {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut h = [0u8; 32];
    for (i, out) in h.iter_mut().enumerate() {
        *out = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(h)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u8,
    kind: String,
    time: u64,
    actor: String,
    purpose: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

impl LogEntry {
    /// Checks the field rules: version 1, a well-formed `kind`, and non-empty
    /// `actor` and `purpose` of at most 256 bytes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.v != ENTRY_VERSION {
            return Err(Error::MalformedEntry(format!("unsupported version {}", self.v)));
        }
        if !valid_kind(&self.kind) {
            return Err(Error::MalformedEntry(format!("invalid kind {:?}", self.kind)));
        }
        if !valid_text(&self.actor) {
            return Err(Error::MalformedEntry("actor is empty or longer than 256 bytes".to_owned()));
        }
        if !valid_text(&self.purpose) {
            return Err(Error::MalformedEntry("purpose is empty or longer than 256 bytes".to_owned()));
        }
        Ok(())
    }

    /// Returns the canonical encoding, after [`LogEntry::validate`].
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        self.validate()?;
        let mut out = String::with_capacity(128);
        out.push_str(&format!("{{\"v\":{},\"kind\":", self.v));
        push_json_string(&mut out, &self.kind);
        out.push_str(&format!(",\"time\":{},\"actor\":", self.time_unix_millis));
        push_json_string(&mut out, &self.actor);
        out.push_str(",\"purpose\":");
        push_json_string(&mut out, &self.purpose);
        if let Some(s) = &self.subject_commitment {
            out.push_str(&format!(",\"subject\":\"{}\"", hex(s)));
        }
        if let Some(d) = &self.details_hash {
            out.push_str(&format!(",\"details\":\"{}\"", hex(d)));
        }
        out.push('}');
        Ok(out.into_bytes())
    }

    /// Decodes an entry, accepting only its canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<LogEntry, Error> {
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| Error::MalformedEntry(e.to_string()))?;
        let hash = |name: &str, v: Option<String>| -> Result<Option<Hash>, Error> {
            v.map(|s| unhex(&s).ok_or_else(|| Error::MalformedEntry(format!("{name} is not 64 lower-case hex digits"))))
                .transpose()
        };
        let entry = LogEntry {
            v: wire.v,
            kind: wire.kind,
            time_unix_millis: wire.time,
            actor: wire.actor,
            purpose: wire.purpose,
            subject_commitment: hash("subject", wire.subject)?,
            details_hash: hash("details", wire.details)?,
        };
        if entry.encode()? != bytes {
            return Err(Error::MalformedEntry("encoding is not canonical".to_owned()));
        }
        Ok(entry)
    }

    /// The RFC 6962 leaf hash of the canonical encoding.
    pub fn leaf_hash(&self) -> Result<Hash, Error> {
        Ok(crate::merkle::hash_leaf(&self.encode()?))
    }
}
