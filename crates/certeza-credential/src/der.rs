//! A minimal DER walk over X.509 certificates: enough to find the subject public key, the
//! validity window and the extended key usages. It is not a certificate validator.

use crate::error::{Error, Result};
use crate::keys::{Kid, PublicKey};
use crate::time::days_from_civil;

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];

struct Der<'a> {
    buf: &'a [u8],
}

impl<'a> Der<'a> {
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    /// Reads one TLV and returns its tag and contents.
    fn read(&mut self) -> Result<(u8, &'a [u8])> {
        let bad = Error::Certificate("malformed DER");
        let (&tag, rest) = self.buf.split_first().ok_or(bad.clone())?;
        let (&first, mut rest) = rest.split_first().ok_or(bad.clone())?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad);
            }
            let mut len = 0usize;
            for &b in rest.get(..n).ok_or(bad.clone())? {
                len = (len << 8) | usize::from(b);
            }
            rest = rest.get(n..).ok_or(bad.clone())?;
            len
        };
        if rest.len() < len {
            return Err(bad);
        }
        let (content, tail) = rest.split_at(len);
        self.buf = tail;
        Ok((tag, content))
    }

    fn expect(&mut self, tag: u8) -> Result<&'a [u8]> {
        let (t, c) = self.read()?;
        if t == tag { Ok(c) } else { Err(Error::Certificate("unexpected DER tag")) }
    }
}

/// What this crate extracts from an X.509 certificate.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The DCC kid: the first 8 bytes of SHA-256 of the certificate's DER.
    pub kid: Kid,
    /// The subject public key.
    pub public_key: PublicKey,
    /// `notBefore` as unix seconds.
    pub not_before: i64,
    /// `notAfter` as unix seconds.
    pub not_after: i64,
    /// Extended key usage OIDs in dotted form (empty when the extension is absent).
    pub extended_key_usages: Vec<String>,
}

impl Certificate {
    /// Parses a DER certificate.
    ///
    /// # Errors
    ///
    /// [`Error::Certificate`] when the structure is not understood, [`Error::Key`] when the
    /// key is of an unsupported type or invalid.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let mut outer = Der { buf: der };
        let cert = outer.expect(0x30)?;
        if !outer.is_empty() {
            return Err(Error::Certificate("trailing bytes"));
        }
        let mut cert = Der { buf: cert };
        let mut tbs = Der { buf: cert.expect(0x30)? };
        if tbs.peek_tag() == Some(0xa0) {
            tbs.read()?;
        }
        tbs.expect(0x02)?;
        tbs.expect(0x30)?;
        tbs.expect(0x30)?;
        let mut validity = Der { buf: tbs.expect(0x30)? };
        let not_before = read_time(&mut validity)?;
        let not_after = read_time(&mut validity)?;
        tbs.expect(0x30)?;
        let public_key = parse_spki(tbs.expect(0x30)?)?;
        let mut extended_key_usages = Vec::new();
        while !tbs.is_empty() {
            let (tag, content) = tbs.read()?;
            if tag != 0xa3 {
                continue;
            }
            let mut exts = Der { buf: Der { buf: content }.expect(0x30)? };
            while !exts.is_empty() {
                let mut ext = Der { buf: exts.expect(0x30)? };
                let oid = ext.expect(0x06)?;
                if ext.peek_tag() == Some(0x01) {
                    ext.read()?;
                }
                let value = ext.expect(0x04)?;
                if oid == OID_EXT_KEY_USAGE {
                    let mut list = Der { buf: Der { buf: value }.expect(0x30)? };
                    while !list.is_empty() {
                        extended_key_usages.push(oid_to_string(list.expect(0x06)?)?);
                    }
                }
            }
        }
        Ok(Certificate { kid: Kid::of(der), public_key, not_before, not_after, extended_key_usages })
    }
}

fn parse_spki(spki: &[u8]) -> Result<PublicKey> {
    let mut spki = Der { buf: spki };
    let mut alg = Der { buf: spki.expect(0x30)? };
    let oid = alg.expect(0x06)?;
    let bits = spki.expect(0x03)?;
    let (&unused, key) = bits.split_first().ok_or(Error::Certificate("empty key"))?;
    if unused != 0 {
        return Err(Error::Certificate("key bit string"));
    }
    if oid == OID_EC_PUBLIC_KEY {
        if alg.expect(0x06)? != OID_P256 {
            return Err(Error::Key("only the P-256 curve is supported"));
        }
        p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .map(PublicKey::P256)
            .map_err(|_| Error::Key("not a P-256 point"))
    } else if oid == OID_RSA {
        let mut seq = Der { buf: Der { buf: key }.expect(0x30)? };
        let n = seq.expect(0x02)?;
        let e = seq.expect(0x02)?;
        let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e))
            .map_err(|_| Error::Key("invalid RSA key"))?;
        Ok(PublicKey::Rsa(Box::new(key)))
    } else if oid == OID_ED25519 {
        PublicKey::from_raw(crate::keys::Algorithm::EdDsa, key)
    } else {
        Err(Error::Key("unsupported key type"))
    }
}

fn oid_to_string(oid: &[u8]) -> Result<String> {
    let (&first, rest) = oid.split_first().ok_or(Error::Certificate("empty OID"))?;
    let mut parts = vec![u64::from(first / 40).min(2), 0];
    parts[1] = u64::from(first) - parts[0] * 40;
    let mut acc: u64 = 0;
    for &b in rest {
        acc = acc.checked_mul(128).ok_or(Error::Certificate("OID arc too large"))? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    Ok(parts.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

fn digits(s: &[u8]) -> Result<i64> {
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return Err(Error::Certificate("bad time"));
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Ok(v)
}

fn read_time(d: &mut Der<'_>) -> Result<i64> {
    let (tag, s) = d.read()?;
    let (year, rest) = match (tag, s.len()) {
        (0x17, 13) => {
            let yy = digits(s.get(..2).ok_or(Error::Certificate("bad time"))?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..).unwrap_or_default())
        }
        (0x18, 15) => (digits(s.get(..4).ok_or(Error::Certificate("bad time"))?)?, s.get(4..).unwrap_or_default()),
        _ => return Err(Error::Certificate("unsupported time")),
    };
    if rest.last() != Some(&b'Z') {
        return Err(Error::Certificate("time not in UTC"));
    }
    let f = |i: usize| digits(rest.get(i..i + 2).unwrap_or_default());
    let days = days_from_civil(year, f(0)?, f(2)?);
    Ok(days * 86_400 + f(4)? * 3600 + f(6)? * 60 + f(8)?)
}

/// Parses a PEM file holding one or more `CERTIFICATE` blocks.
///
/// # Errors
///
/// [`Error::Certificate`] when no certificate is found or a block is invalid.
pub fn parse_pem_certificates(pem: &str) -> Result<Vec<Certificate>> {
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b64 = body.take().ok_or(Error::Certificate("END without BEGIN"))?;
            certs.push(Certificate::from_der(&base64_decode(&b64)?)?);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if body.is_some() {
        return Err(Error::Certificate("unterminated PEM block"));
    }
    if certs.is_empty() {
        return Err(Error::Certificate("no certificate in PEM"));
    }
    Ok(certs)
}

/// Decodes standard Base64 with optional padding (used for PEM bodies).
///
/// # Errors
///
/// [`Error::Certificate`] on an invalid character or length.
pub fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let bad = Error::Certificate("invalid base64");
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(bad),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err(bad);
    }
    Ok(out)
}
