//! EU Digital COVID Certificate (HCERT) specifics: JSON view, a structural schema check and
//! the document-signer key-usage rule.

use crate::cbor::Value;
use crate::error::{Error, Result};

/// The DCC's certificate type: `v` (vaccination), `t` (test) or `r` (recovery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateType {
    /// Vaccination.
    Vaccination,
    /// Test.
    Test,
    /// Recovery.
    Recovery,
}

const GROUPS: [(&str, CertificateType); 3] =
    [("v", CertificateType::Vaccination), ("t", CertificateType::Test), ("r", CertificateType::Recovery)];

/// The certificate type, when exactly one of `v`, `t`, `r` is present.
#[must_use]
pub fn certificate_type(hcert: &Value) -> Option<CertificateType> {
    let mut found = GROUPS.iter().filter(|(k, _)| hcert.get_text(k).is_some());
    match (found.next(), found.next()) {
        (Some((_, t)), None) => Some(*t),
        _ => None,
    }
}

/// Converts the HCERT payload to JSON; `None` when it holds something JSON cannot carry
/// (non-text keys, byte strings, tags, non-finite numbers, undefined).
#[must_use]
pub fn to_json(v: &Value) -> Option<serde_json::Value> {
    Some(match v {
        Value::Unsigned(n) => serde_json::Value::from(*n),
        Value::Negative(_) => serde_json::Value::from(v.as_i64()?),
        Value::Text(s) => serde_json::Value::String(s.clone()),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Null => serde_json::Value::Null,
        Value::Float(f) => serde_json::Value::Number(serde_json::Number::from_f64(*f)?),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect::<Option<_>>()?),
        Value::Map(entries) => {
            let mut m = serde_json::Map::new();
            for (k, val) in entries {
                m.insert(k.as_text()?.to_owned(), to_json(val)?);
            }
            serde_json::Value::Object(m)
        }
        Value::Bytes(_) | Value::Tag(..) | Value::Undefined => return None,
    })
}

const REQUIRED: [(&str, &[&str]); 3] = [
    ("v", &["tg", "vp", "mp", "ma", "dn", "sd", "dt", "co", "is", "ci"]),
    ("t", &["tg", "tt", "sc", "tc", "co", "is", "ci"]),
    ("r", &["tg", "fr", "co", "is", "df", "du", "ci"]),
];

/// A structural check after the DCC JSON schema (1.x): `ver`, `nam` with `fnt`, `dob`, and
/// exactly one of `v`/`t`/`r` holding exactly one entry with its required fields.
///
/// # Errors
///
/// [`Error::Claims`] naming the first violation.
pub fn schema_check(hcert: &Value) -> Result<()> {
    let text = |v: Option<&Value>| v.and_then(Value::as_text).is_some();
    if !text(hcert.get_text("ver")) {
        return Err(Error::Claims("ver missing"));
    }
    let nam = hcert.get_text("nam").ok_or(Error::Claims("nam missing"))?;
    if !text(nam.get_text("fnt")) {
        return Err(Error::Claims("nam.fnt missing"));
    }
    if !text(hcert.get_text("dob")) {
        return Err(Error::Claims("dob missing"));
    }
    let groups: Vec<_> = REQUIRED.iter().filter(|(g, _)| hcert.get_text(g).is_some()).collect();
    let [(group, required)] = groups.as_slice() else {
        return Err(Error::Claims("exactly one of v, t, r is required"));
    };
    let Some(Value::Array(entries)) = hcert.get_text(group) else {
        return Err(Error::Claims("certificate group must be an array"));
    };
    let [entry] = entries.as_slice() else {
        return Err(Error::Claims("exactly one certificate entry is required"));
    };
    for field in *required {
        if entry.get_text(field).is_none() {
            return Err(Error::Claims("certificate entry misses a required field"));
        }
    }
    Ok(())
}

/// Whether a signer with these extended key usages may sign this HCERT. The DCC OIDs
/// `1.3.6.1.4.1.1847.2021.1.{1,2,3}` (and the `1.3.6.1.4.1.0.1847.2021.1.*` variants)
/// allow test, vaccination and recovery certificates; a signer with none of them may sign
/// every type.
#[must_use]
pub fn key_usage_allows(extended_key_usages: &[String], hcert: &Value) -> bool {
    let allowed: Vec<CertificateType> = extended_key_usages
        .iter()
        .filter_map(|oid| {
            let suffix = oid
                .strip_prefix("1.3.6.1.4.1.1847.2021.1.")
                .or_else(|| oid.strip_prefix("1.3.6.1.4.1.0.1847.2021.1."))?;
            match suffix {
                "1" => Some(CertificateType::Test),
                "2" => Some(CertificateType::Vaccination),
                "3" => Some(CertificateType::Recovery),
                _ => None,
            }
        })
        .collect();
    if allowed.is_empty() {
        return true;
    }
    certificate_type(hcert).is_some_and(|t| allowed.contains(&t))
}
