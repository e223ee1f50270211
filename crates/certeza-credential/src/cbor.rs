//! A small, strict CBOR (RFC 8949) reader and a deterministic writer.
//!
//! The reader accepts definite and indefinite lengths, rejects reserved additional
//! information, unassigned simple values, stray breaks, invalid UTF-8, duplicate map keys,
//! nesting deeper than [`MAX_DEPTH`] and trailing bytes. The writer always produces the
//! shortest heads and definite lengths, so decode → encode is stable.

use crate::error::{Error, Result};
use std::collections::BTreeSet;

/// The deepest nesting the reader accepts.
pub const MAX_DEPTH: usize = 32;

/// A CBOR data item.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An unsigned integer (major type 0).
    Unsigned(u64),
    /// A negative integer (major type 1) whose value is `-1 - n`.
    Negative(u64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A text string.
    Text(String),
    /// An array.
    Array(Vec<Value>),
    /// A map, in encoded order.
    Map(Vec<(Value, Value)>),
    /// A tagged item.
    Tag(u64, Box<Value>),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// A floating-point number (half, single or double precision on the wire).
    Float(f64),
}

impl Value {
    /// Builds an integer value.
    #[must_use]
    pub fn int(n: i64) -> Self {
        if n >= 0 { Value::Unsigned(n.unsigned_abs()) } else { Value::Negative((-(n + 1)).unsigned_abs()) }
    }

    /// Builds a text value.
    #[must_use]
    pub fn text(s: &str) -> Self {
        Value::Text(s.to_owned())
    }

    /// The integer, when it is one that fits in an `i64`.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Unsigned(n) => i64::try_from(*n).ok(),
            Value::Negative(n) => i64::try_from(*n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// The text, when this is a text string.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, when this is a byte string.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The entries, when this is a map.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under an integer key of a map.
    #[must_use]
    pub fn get_int(&self, key: i64) -> Option<&Value> {
        map_get(self.as_map()?, &Value::int(key))
    }

    /// The value under a text key of a map.
    #[must_use]
    pub fn get_text(&self, key: &str) -> Option<&Value> {
        self.as_map()?.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
    }

    /// Encodes this value deterministically.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(self, &mut out);
        out
    }
}

/// Looks a key up in map entries.
#[must_use]
pub fn map_get<'a>(entries: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Sorts map entries in the deterministic order of RFC 8949 §4.2.1 (bytewise order of the
/// encoded keys).
pub fn sort_map(entries: &mut [(Value, Value)]) {
    entries.sort_by_cached_key(|(k, _)| k.to_vec());
}

fn write_head(major: u8, arg: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if let Ok(a) = u8::try_from(arg) {
        out.push(m | 24);
        out.push(a);
    } else if let Ok(a) = u16::try_from(arg) {
        out.push(m | 25);
        out.extend_from_slice(&a.to_be_bytes());
    } else if let Ok(a) = u32::try_from(arg) {
        out.push(m | 26);
        out.extend_from_slice(&a.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Unsigned(n) => write_head(0, *n, out),
        Value::Negative(n) => write_head(1, *n, out),
        Value::Bytes(b) => {
            write_head(2, b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Text(s) => {
            write_head(3, s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            write_head(4, items.len() as u64, out);
            for item in items {
                encode_into(item, out);
            }
        }
        Value::Map(entries) => {
            write_head(5, entries.len() as u64, out);
            for (k, val) in entries {
                encode_into(k, out);
                encode_into(val, out);
            }
        }
        Value::Tag(t, inner) => {
            write_head(6, *t, out);
            encode_into(inner, out);
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Undefined => out.push(0xf7),
        Value::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
    }
}

/// Decodes exactly one CBOR item that must span the whole input.
///
/// # Errors
///
/// [`Error::Cbor`] for any malformed or non-well-formed input, or trailing bytes.
pub fn decode(input: &[u8]) -> Result<Value> {
    let mut r = Reader { buf: input, pos: 0 };
    let v = r.item(0)?;
    if r.pos != input.len() {
        return Err(Error::Cbor("trailing bytes"));
    }
    Ok(v)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

const BREAK: u8 = 0xff;

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(Error::Cbor("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if n > self.remaining() {
            return Err(Error::Cbor("unexpected end"));
        }
        let s = self.buf.get(self.pos..self.pos + n).ok_or(Error::Cbor("unexpected end"))?;
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64> {
        let mut v: u64 = 0;
        for &b in self.take(n)? {
            v = (v << 8) | u64::from(b);
        }
        Ok(v)
    }

    /// Reads an initial byte and its argument; `None` means indefinite length.
    fn head(&mut self) -> Result<(u8, u8, Option<u64>)> {
        let ib = self.byte()?;
        let major = ib >> 5;
        let ai = ib & 0x1f;
        let arg = match ai {
            0..=23 => Some(u64::from(ai)),
            24 => Some(self.uint(1)?),
            25 => Some(self.uint(2)?),
            26 => Some(self.uint(4)?),
            27 => Some(self.uint(8)?),
            31 => None,
            _ => return Err(Error::Cbor("reserved additional information")),
        };
        Ok((major, ai, arg))
    }

    fn len_within(&self, n: u64, min_item: usize) -> Result<usize> {
        let n = usize::try_from(n).map_err(|_| Error::Cbor("length too large"))?;
        if n.saturating_mul(min_item) > self.remaining() {
            return Err(Error::Cbor("length exceeds input"));
        }
        Ok(n)
    }

    fn string_chunks(&mut self, major: u8, arg: Option<u64>) -> Result<Vec<u8>> {
        match arg {
            Some(n) => {
                let n = self.len_within(n, 1)?;
                Ok(self.take(n)?.to_vec())
            }
            None => {
                let mut out = Vec::new();
                loop {
                    if self.peek() == Some(BREAK) {
                        self.pos += 1;
                        return Ok(out);
                    }
                    let (m, _, a) = self.head()?;
                    let a = a.ok_or(Error::Cbor("nested indefinite string"))?;
                    if m != major {
                        return Err(Error::Cbor("string chunk of another type"));
                    }
                    let n = self.len_within(a, 1)?;
                    let chunk = self.take(n)?;
                    if major == 3 && std::str::from_utf8(chunk).is_err() {
                        return Err(Error::Cbor("invalid UTF-8"));
                    }
                    out.extend_from_slice(chunk);
                }
            }
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(Error::Cbor("nesting too deep"));
        }
        let (major, ai, arg) = self.head()?;
        match major {
            0 => Ok(Value::Unsigned(arg.ok_or(Error::Cbor("indefinite integer"))?)),
            1 => Ok(Value::Negative(arg.ok_or(Error::Cbor("indefinite integer"))?)),
            2 => Ok(Value::Bytes(self.string_chunks(2, arg)?)),
            3 => {
                let bytes = self.string_chunks(3, arg)?;
                String::from_utf8(bytes).map(Value::Text).map_err(|_| Error::Cbor("invalid UTF-8"))
            }
            4 => {
                let mut items = Vec::new();
                match arg {
                    Some(n) => {
                        let n = self.len_within(n, 1)?;
                        items.reserve(n);
                        for _ in 0..n {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    None => loop {
                        if self.peek() == Some(BREAK) {
                            self.pos += 1;
                            break;
                        }
                        items.push(self.item(depth + 1)?);
                    },
                }
                Ok(Value::Array(items))
            }
            5 => {
                let mut entries = Vec::new();
                let mut seen = BTreeSet::new();
                let mut push = |k: Value, v: Value, entries: &mut Vec<(Value, Value)>| {
                    if seen.insert(k.to_vec()) {
                        entries.push((k, v));
                        Ok(())
                    } else {
                        Err(Error::Cbor("duplicate map key"))
                    }
                };
                match arg {
                    Some(n) => {
                        let n = self.len_within(n, 2)?;
                        entries.reserve(n);
                        for _ in 0..n {
                            let k = self.item(depth + 1)?;
                            let v = self.item(depth + 1)?;
                            push(k, v, &mut entries)?;
                        }
                    }
                    None => loop {
                        if self.peek() == Some(BREAK) {
                            self.pos += 1;
                            break;
                        }
                        let k = self.item(depth + 1)?;
                        let v = self.item(depth + 1)?;
                        push(k, v, &mut entries)?;
                    },
                }
                Ok(Value::Map(entries))
            }
            6 => {
                let tag = arg.ok_or(Error::Cbor("indefinite tag"))?;
                Ok(Value::Tag(tag, Box::new(self.item(depth + 1)?)))
            }
            _ => {
                let arg = arg.ok_or(Error::Cbor("unexpected break"))?;
                match ai {
                    20 => Ok(Value::Bool(false)),
                    21 => Ok(Value::Bool(true)),
                    22 => Ok(Value::Null),
                    23 => Ok(Value::Undefined),
                    25 => Ok(Value::Float(half_to_f64(arg as u16))),
                    26 => Ok(Value::Float(f64::from(f32::from_bits(arg as u32)))),
                    27 => Ok(Value::Float(f64::from_bits(arg))),
                    _ => Err(Error::Cbor("unassigned simple value")),
                }
            }
        }
    }
}

fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    let mag = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    };
    sign * mag
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc8949_appendix_a_samples() {
        assert_eq!(decode(&[0x00]).unwrap(), Value::Unsigned(0));
        assert_eq!(decode(&[0x38, 0x63]).unwrap().as_i64(), Some(-100));
        assert_eq!(decode(&[0xf9, 0x3c, 0x00]).unwrap(), Value::Float(1.0));
        assert_eq!(decode(&[0xf9, 0xc4, 0x00]).unwrap(), Value::Float(-4.0));
        let indefinite = decode(&[0x9f, 0x01, 0x82, 0x02, 0x03, 0x9f, 0x04, 0x05, 0xff, 0xff]);
        assert!(matches!(indefinite.unwrap(), Value::Array(a) if a.len() == 3));
        let chunks = decode(&[0x7f, 0x65, b's', b't', b'r', b'e', b'a', 0x64, b'm', b'i', b'n', b'g', 0xff]);
        assert_eq!(chunks.unwrap(), Value::text("streaming"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &[0x1c][..],
            &[0xff],
            &[0x18],
            &[0x00, 0x00],
            &[0x62, 0xff, 0xfe],
            &[0xa2, 0x01, 0x02, 0x01, 0x03],
            &[0x5f, 0x61, 0x61, 0xff],
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0xf0],
            &[0xf8, 0x20],
            &[0x9f, 0x01],
        ] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
        let deep = vec![0x81u8; MAX_DEPTH + 2];
        assert!(decode(&deep).is_err());
    }

    #[test]
    fn writer_is_deterministic() {
        let v = Value::Map(vec![
            (Value::int(-70001), Value::Array(vec![Value::int(500), Value::Bool(true)])),
            (Value::text("a"), Value::Bytes(vec![1, 2, 3])),
        ]);
        let bytes = v.to_vec();
        assert_eq!(decode(&bytes).unwrap(), v);
        assert_eq!(decode(&bytes).unwrap().to_vec(), bytes);
    }
}
