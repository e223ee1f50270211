//! C2SP tlog-checkpoint note bodies.
//!
//! A checkpoint body is the origin line, the tree size in decimal, the root
//! hash in base64, and optional non-empty extension lines, each ending in a
//! newline.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::merkle::Hash;

/// A transparency log checkpoint: the signed statement of a tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, a unique identifier of the log.
    pub origin: String,
    /// The number of entries in the tree.
    pub size: u64,
    /// The RFC 6962 root hash of the tree.
    pub root: Hash,
    /// Opaque extension lines, each non-empty, without newlines.
    pub extensions: Vec<String>,
}

fn valid_line(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_control())
}

/// Parses a canonical decimal: digits only, no leading zero unless `0`.
pub(crate) fn parse_canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Decodes a base64 hash line: canonical standard base64 of exactly 32 bytes.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    STANDARD.decode(s).ok()?.try_into().ok()
}

impl Checkpoint {
    /// Renders the note text: `origin\nsize\nbase64(root)\n` plus one line per
    /// extension. Fails if the origin or an extension is empty or contains a
    /// control character (including newline).
    pub fn to_note_text(&self) -> Result<String, Error> {
        if !valid_line(&self.origin) {
            return Err(Error::MalformedCheckpoint("origin is empty or has a control character"));
        }
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for e in &self.extensions {
            if !valid_line(e) {
                return Err(Error::MalformedCheckpoint("extension line is empty or has a control character"));
            }
            out.push_str(e);
            out.push('\n');
        }
        Ok(out)
    }

    /// Parses a checkpoint note text strictly: at least three lines, every
    /// line newline-terminated and non-empty, a canonical decimal size and a
    /// canonical base64 32-byte root.
    pub fn parse(text: &str) -> Result<Checkpoint, Error> {
        let body = text.strip_suffix('\n').ok_or(Error::MalformedCheckpoint("text does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if !valid_line(origin) {
            return Err(Error::MalformedCheckpoint("origin is empty or has a control character"));
        }
        let size = lines
            .next()
            .and_then(parse_canonical_u64)
            .ok_or(Error::MalformedCheckpoint("size is not a canonical decimal"))?;
        let root = lines
            .next()
            .and_then(decode_hash)
            .ok_or(Error::MalformedCheckpoint("root is not a base64 32-byte hash"))?;
        let mut extensions = Vec::new();
        for e in lines {
            if !valid_line(e) {
                return Err(Error::MalformedCheckpoint("extension line is empty or has a control character"));
            }
            extensions.push(e.to_owned());
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions })
    }
}
