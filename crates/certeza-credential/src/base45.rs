//! Base45 (RFC 9285), strict in both directions.

use crate::error::{Error, Result};

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

fn value_of(c: u8) -> Option<u16> {
    ALPHABET.iter().position(|&a| a == c).and_then(|p| u16::try_from(p).ok())
}

/// Encodes bytes as Base45 text.
#[must_use]
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(2) * 3);
    let mut push = |v: u32| out.push(char::from(ALPHABET[(v % 45) as usize]));
    for chunk in data.chunks(2) {
        if let [a, b] = chunk {
            let n = u32::from(*a) * 256 + u32::from(*b);
            push(n);
            push(n / 45);
            push(n / 2025);
        } else if let [a] = chunk {
            let n = u32::from(*a);
            push(n);
            push(n / 45);
        }
    }
    out
}

/// Decodes Base45 text; the whole input must be valid.
///
/// # Errors
///
/// [`Error::Base45`] for a character outside the alphabet, a dangling single character, or a
/// group whose value exceeds 65535 (three characters) or 255 (two characters).
pub fn decode(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 3 == 1 {
        return Err(Error::Base45("invalid length"));
    }
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    for chunk in bytes.chunks(3) {
        let mut n: u32 = 0;
        let mut factor: u32 = 1;
        for &c in chunk {
            let v = value_of(c).ok_or(Error::Base45("invalid character"))?;
            n += u32::from(v) * factor;
            factor *= 45;
        }
        if chunk.len() == 3 {
            let pair = u16::try_from(n).map_err(|_| Error::Base45("group out of range"))?;
            out.extend_from_slice(&pair.to_be_bytes());
        } else {
            let single = u8::try_from(n).map_err(|_| Error::Base45("group out of range"))?;
            out.push(single);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn rejects_invalid_input() {
        assert!(decode("GGW").is_err(), "65536 is out of range");
        assert!(decode("FGW").is_ok(), "65535 is the largest group");
        assert!(decode("A").is_err());
        assert!(decode("ab").is_err(), "lowercase is not in the alphabet");
        assert!(decode("::").is_err(), "two characters above 255");
    }
}
