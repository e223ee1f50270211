//! Certeza credentials (`CZ1:`) and the shared decode/verify pipeline (also `HC1:`).

use crate::base45;
use crate::cbor::{self, Value};
use crate::cose::{self, Encrypt0, Sign1};
use crate::dcc;
use crate::error::{Error, Result};
use crate::keys::{Algorithm, IssuerKey, hex};
use crate::status::{StatusList, StatusRef};
use crate::trust::{KeyOrigin, TrustStore, VerifierKey};
use crate::zlib;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The context prefix of Certeza credentials.
pub const PREFIX: &str = "CZ1:";
/// The context prefix of EU Digital COVID Certificates.
pub const DCC_PREFIX: &str = "HC1:";
/// The private-use CWT claim holding the document body.
pub const CLAIM_DOCUMENT: i64 = -70001;
/// The private-use CWT claim holding the sealed (encrypted) fields.
pub const CLAIM_SEALED: i64 = -70002;
/// The CWT claim of a status list reference.
pub const CLAIM_STATUS: i64 = 65535;
/// The HCERT claim of an EU DCC.
pub const CLAIM_HCERT: i64 = -260;
/// The longest code accepted, in characters (a version 40 QR code holds 4296).
pub const MAX_CODE_LEN: usize = 16 * 1024;

const CLAIM_ISS: i64 = 1;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
const CLAIM_CTI: i64 = 7;

/// Which wire format a code uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Certeza credential (`CZ1:`).
    Certeza,
    /// An EU Digital COVID Certificate (`HC1:`).
    EuDcc,
}

impl Format {
    /// A stable name: `certeza` or `eu_dcc`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Certeza => "certeza",
            Format::EuDcc => "eu_dcc",
        }
    }
}

/// The kind of document a credential carries (claim `"t"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentType {
    /// `cpv`: the voter credential.
    Cpv,
    /// `constancia`: a certificate.
    Constancia,
    /// `cita`: an appointment.
    Cita,
    /// Any other type name.
    Other(String),
}

impl DocumentType {
    /// The wire name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            DocumentType::Cpv => "cpv",
            DocumentType::Constancia => "constancia",
            DocumentType::Cita => "cita",
            DocumentType::Other(s) => s,
        }
    }

    /// The type for a wire name.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s {
            "cpv" => DocumentType::Cpv,
            "constancia" => DocumentType::Constancia,
            "cita" => DocumentType::Cita,
            other => DocumentType::Other(other.to_owned()),
        }
    }
}

/// A field value of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// Text.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
    /// Bytes (for example a photo hash).
    Bytes(Vec<u8>),
}

impl FieldValue {
    fn to_value(&self) -> Value {
        match self {
            FieldValue::Text(s) => Value::text(s),
            FieldValue::Integer(n) => Value::int(*n),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Bytes(b) => Value::Bytes(b.clone()),
        }
    }

    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(FieldValue::Text(s.clone())),
            Value::Bool(b) => Some(FieldValue::Bool(*b)),
            Value::Bytes(b) => Some(FieldValue::Bytes(b.clone())),
            other => other.as_i64().map(FieldValue::Integer),
        }
    }

    /// The value as JSON (bytes as lowercase hexadecimal).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Text(s) => serde_json::Value::String(s.clone()),
            FieldValue::Integer(n) => serde_json::Value::from(*n),
            FieldValue::Bool(b) => serde_json::Value::Bool(*b),
            FieldValue::Bytes(b) => serde_json::Value::String(hex(b)),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_owned())
    }
}

impl From<i64> for FieldValue {
    fn from(n: i64) -> Self {
        FieldValue::Integer(n)
    }
}

/// A document to issue: its type, public fields, and fields sealed for authorised verifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The document type.
    pub doc_type: DocumentType,
    /// Fields anyone holding the code can read.
    pub fields: BTreeMap<String, FieldValue>,
    /// Fields only holders of the verifier key can read (COSE_Encrypt0).
    pub sealed_fields: BTreeMap<String, FieldValue>,
}

impl Document {
    /// An empty document of a type.
    #[must_use]
    pub fn new(doc_type: DocumentType) -> Self {
        Document { doc_type, fields: BTreeMap::new(), sealed_fields: BTreeMap::new() }
    }

    /// Adds a public field.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<FieldValue>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a sealed field.
    #[must_use]
    pub fn with_sealed(mut self, name: &str, value: impl Into<FieldValue>) -> Self {
        self.sealed_fields.insert(name.to_owned(), value.into());
        self
    }

    fn body(&self) -> Result<Value> {
        let mut m = vec![(Value::text("t"), Value::text(self.doc_type.as_str()))];
        for (k, v) in &self.fields {
            if k == "t" {
                return Err(Error::Document("field name \"t\" is reserved"));
            }
            m.push((Value::text(k), v.to_value()));
        }
        cbor::sort_map(&mut m);
        Ok(Value::Map(m))
    }
}

fn fields_map(sealed: &BTreeMap<String, FieldValue>) -> Value {
    let mut m: Vec<_> = sealed.iter().map(|(k, v)| (Value::text(k), v.to_value())).collect();
    cbor::sort_map(&mut m);
    Value::Map(m)
}

fn fields_from_map(v: &Value, skip_type: bool) -> Result<BTreeMap<String, FieldValue>> {
    let entries = v.as_map().ok_or(Error::Claims("document must be a map"))?;
    let mut out = BTreeMap::new();
    for (k, val) in entries {
        let k = k.as_text().ok_or(Error::Claims("field names must be text"))?;
        if skip_type && k == "t" {
            continue;
        }
        let fv = FieldValue::from_value(val).ok_or(Error::Claims("unsupported field value"))?;
        out.insert(k.to_owned(), fv);
    }
    Ok(out)
}

/// The issuance parameters: time, validity and the injected randomness.
#[derive(Debug, Clone)]
pub struct IssueOptions<'a> {
    /// The issuance time (`iat`), unix seconds.
    pub issued_at: i64,
    /// How long the credential is valid, in seconds (`exp = iat + valid_for`).
    pub valid_for: i64,
    /// The token id (`cti`); when `None` it is derived from the content.
    pub cti: Option<Vec<u8>>,
    /// A status list entry for revocation.
    pub status: Option<StatusRef>,
    /// The verifier key and a never-repeated 12-byte IV to seal the sealed fields with.
    pub seal: Option<(&'a VerifierKey, [u8; 12])>,
}

/// Issues a credential with no sealed fields, no status reference and a content-derived
/// `cti`, valid from `now` for `valid_for` seconds.
///
/// # Errors
///
/// [`Error::Document`] when the document has sealed fields (use [`issue_with`] to give an
/// IV) or an invalid field name.
pub fn issue(document: &Document, key: &IssuerKey, now: i64, valid_for: i64) -> Result<String> {
    issue_with(document, key, &IssueOptions { issued_at: now, valid_for, cti: None, status: None, seal: None })
}

/// Issues a credential: `CZ1:` + Base45(zlib(COSE_Sign1(CWT))).
///
/// # Errors
///
/// [`Error::Document`] for a reserved field name, sealed fields without a seal key (or a
/// seal key without sealed fields), or an expiry that overflows.
pub fn issue_with(document: &Document, key: &IssuerKey, opts: &IssueOptions<'_>) -> Result<String> {
    let exp = opts.issued_at.checked_add(opts.valid_for).ok_or(Error::Document("expiry overflows"))?;
    let body = document.body()?;
    let mut claims = vec![
        (Value::int(CLAIM_ISS), Value::text(key.issuer())),
        (Value::int(CLAIM_IAT), Value::int(opts.issued_at)),
        (Value::int(CLAIM_EXP), Value::int(exp)),
        (Value::int(CLAIM_DOCUMENT), body.clone()),
    ];
    match (&opts.seal, document.sealed_fields.is_empty()) {
        (Some((vk, iv)), false) => {
            let plaintext = fields_map(&document.sealed_fields).to_vec();
            claims.push((Value::int(CLAIM_SEALED), cose::encrypt0(vk.secret(), &vk.id, iv, &plaintext)?));
        }
        (None, false) => return Err(Error::Document("sealed fields need a verifier key and IV")),
        (Some(_), true) => return Err(Error::Document("a seal key was given without sealed fields")),
        (None, true) => {}
    }
    if let Some(status) = &opts.status {
        claims.push((Value::int(CLAIM_STATUS), status.to_value()));
    }
    let cti = match &opts.cti {
        Some(c) => c.clone(),
        None => {
            let mut h = Sha256::new();
            h.update(key.kid().0);
            h.update(opts.issued_at.to_be_bytes());
            h.update(body.to_vec());
            h.finalize()[..16].to_vec()
        }
    };
    claims.push((Value::int(CLAIM_CTI), Value::Bytes(cti)));
    cbor::sort_map(&mut claims);
    let cose = Sign1::sign(Value::Map(claims).to_vec(), key, &[]);
    Ok(encode_cose(PREFIX, &cose.to_bytes()))
}

fn encode_cose(prefix: &str, cose: &[u8]) -> String {
    let mut s = String::from(prefix);
    s.push_str(&base45::encode(&zlib::compress(cose)));
    s
}

/// A decoded (not yet verified) credential.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedCredential {
    /// The wire format.
    pub format: Format,
    /// The code as given (surrounding whitespace removed).
    pub code: String,
    /// The COSE_Sign1.
    pub cose: Sign1,
    /// The CWT claims map.
    pub claims: Value,
    /// `iss`, when present.
    pub issuer: Option<String>,
    /// `iat`, when present.
    pub issued_at: Option<i64>,
    /// `exp`, when present.
    pub expires_at: Option<i64>,
    /// `cti`, when present.
    pub cti: Option<Vec<u8>>,
    /// The document type (Certeza only).
    pub doc_type: Option<DocumentType>,
    /// The public fields (Certeza only).
    pub fields: BTreeMap<String, FieldValue>,
    /// The sealed claim, when present.
    pub sealed: Option<Encrypt0>,
    /// The status list reference, when present.
    pub status: Option<StatusRef>,
    /// The HCERT payload (`-260` → `1`) of an EU DCC.
    pub hcert: Option<Value>,
}

impl DecodedCredential {
    /// Re-encodes the credential from its parsed parts (prefix, Base45, zlib level 9, the
    /// COSE structure with deterministic CBOR). For codes this crate issued it returns the
    /// original string.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut cose = self.cose.clone();
        cose.payload = self.claims.to_vec();
        let prefix = match self.format {
            Format::Certeza => PREFIX,
            Format::EuDcc => DCC_PREFIX,
        };
        encode_cose(prefix, &cose.to_bytes())
    }

    /// The kid that selects the verification key (protected header first; the unprotected
    /// header only for `HC1:`).
    #[must_use]
    pub fn kid(&self) -> Option<&[u8]> {
        self.cose.kid(self.format == Format::Certeza)
    }
}

/// Splits a code into its format and Base45 body.
///
/// # Errors
///
/// [`Error::Prefix`] when the prefix is neither `CZ1:` nor `HC1:`.
pub fn unprefix(code: &str) -> Result<(Format, &str)> {
    if let Some(rest) = code.strip_prefix(PREFIX) {
        Ok((Format::Certeza, rest))
    } else if let Some(rest) = code.strip_prefix(DCC_PREFIX) {
        Ok((Format::EuDcc, rest))
    } else {
        Err(Error::Prefix)
    }
}

fn opt_int(claims: &Value, key: i64) -> Result<Option<i64>> {
    match claims.get_int(key) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(Error::Claims("time claims must be integers")),
    }
}

/// Decodes a `CZ1:` or `HC1:` code without verifying it: prefix, Base45, zlib (at most
/// [`zlib::MAX_CREDENTIAL_SIZE`] bytes), COSE_Sign1 and the CWT claims, all strictly.
///
/// # Errors
///
/// The error names the stage that failed: [`Error::Prefix`], [`Error::Base45`],
/// [`Error::Compression`], [`Error::Cbor`], [`Error::Cose`] or [`Error::Claims`].
pub fn decode(code: &str) -> Result<DecodedCredential> {
    let code = code.trim_ascii();
    if code.len() > MAX_CODE_LEN {
        return Err(Error::Base45("code too long"));
    }
    let (format, body) = unprefix(code)?;
    let compressed = base45::decode(body)?;
    let cose_bytes = zlib::decompress_bounded(&compressed, zlib::MAX_CREDENTIAL_SIZE)?;
    let cose = Sign1::from_bytes(&cose_bytes)?;
    let claims = cbor::decode(&cose.payload)?;
    if claims.as_map().is_none() {
        return Err(Error::Claims("CWT claims must be a map"));
    }
    let issuer = match claims.get_int(CLAIM_ISS) {
        None => None,
        Some(v) => Some(v.as_text().ok_or(Error::Claims("iss must be text"))?.to_owned()),
    };
    let issued_at = opt_int(&claims, CLAIM_IAT)?;
    let expires_at = opt_int(&claims, CLAIM_EXP)?;
    let cti = match claims.get_int(CLAIM_CTI) {
        None => None,
        Some(v) => Some(v.as_bytes().ok_or(Error::Claims("cti must be bytes"))?.to_vec()),
    };
    let status = claims.get_int(CLAIM_STATUS).map(StatusRef::from_value).transpose()?;
    let mut decoded = DecodedCredential {
        format,
        code: code.to_owned(),
        cose,
        claims: Value::Null,
        issuer,
        issued_at,
        expires_at,
        cti,
        doc_type: None,
        fields: BTreeMap::new(),
        sealed: None,
        status,
        hcert: None,
    };
    match format {
        Format::Certeza => {
            if decoded.issuer.is_none() || issued_at.is_none() || expires_at.is_none() {
                return Err(Error::Claims("iss, iat and exp are required"));
            }
            let body = claims.get_int(CLAIM_DOCUMENT).ok_or(Error::Claims("missing document"))?;
            let t = body.get_text("t").and_then(Value::as_text).ok_or(Error::Claims("missing document type"))?;
            decoded.doc_type = Some(DocumentType::parse(t));
            decoded.fields = fields_from_map(body, true)?;
            decoded.sealed = claims.get_int(CLAIM_SEALED).map(Encrypt0::from_value).transpose()?;
        }
        Format::EuDcc => {
            let hcert =
                claims.get_int(CLAIM_HCERT).and_then(|h| h.get_int(1)).ok_or(Error::Claims("missing HCERT claim"))?;
            if hcert.as_map().is_none() {
                return Err(Error::Claims("HCERT must be a map"));
            }
            decoded.hcert = Some(hcert.clone());
        }
    }
    decoded.claims = claims;
    Ok(decoded)
}

/// Why a credential is not valid. Names are stable (`as_str`) for CLI and JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// It cannot be decoded (or references a status entry that does not exist).
    Malformed,
    /// No trusted key matches its kid, issuer, issuance time or purpose.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `now` is at or after `exp`.
    Expired,
    /// `now` is before `iat`.
    NotYetValid,
    /// The status list marks it revoked.
    Revoked,
}

impl Reason {
    /// The stable snake_case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::UnknownKey => "unknown_key",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Revoked => "revoked",
        }
    }
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sealed claim as the verifier sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// The credential has no sealed claim.
    Absent,
    /// Present, but this verifier holds no key for it (or it failed to open).
    Sealed {
        /// The verifier key id it is sealed for (hexadecimal).
        key_id: String,
    },
    /// Opened with this verifier's key.
    Revealed(BTreeMap<String, FieldValue>),
}

/// What the status list said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCheck {
    /// The credential has no status reference.
    NotReferenced,
    /// No status list for its URI was provided.
    NotChecked,
    /// Checked: not revoked.
    Valid,
    /// Checked: revoked.
    Revoked,
}

/// The result of [`verify`]. Document fields are filled only when the signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the credential is valid.
    pub valid: bool,
    /// Why not, when not.
    pub reason: Option<Reason>,
    /// A short English explanation (no personal data).
    pub detail: String,
    /// The wire format, when the prefix was recognised.
    pub format: Option<Format>,
    /// `iss`.
    pub issuer: Option<String>,
    /// The kid, hexadecimal.
    pub kid: Option<String>,
    /// The algorithm of the key that verified it.
    pub algorithm: Option<Algorithm>,
    /// `iat`.
    pub issued_at: Option<i64>,
    /// `exp`.
    pub expires_at: Option<i64>,
    /// The document type (Certeza).
    pub doc_type: Option<String>,
    /// The revealed public fields (Certeza).
    pub fields: BTreeMap<String, FieldValue>,
    /// The sealed claim.
    pub sealed: Sealed,
    /// The revocation check.
    pub status: StatusCheck,
    /// The DCC payload as JSON (EU DCC).
    pub dcc: Option<serde_json::Value>,
    /// The code as given.
    pub code: String,
}

impl Verdict {
    fn fail(mut self, reason: Reason, detail: &str) -> Self {
        self.valid = false;
        self.reason = Some(reason);
        detail.clone_into(&mut self.detail);
        self
    }

    /// The verdict as JSON, with stable field names.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> =
            self.fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
        let sealed = match &self.sealed {
            Sealed::Absent => serde_json::json!({"state": "absent"}),
            Sealed::Sealed { key_id } => serde_json::json!({"state": "sealed", "key_id": key_id}),
            Sealed::Revealed(m) => {
                let m: serde_json::Map<_, _> = m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                serde_json::json!({"state": "revealed", "fields": m})
            }
        };
        let status = match self.status {
            StatusCheck::NotReferenced => "not_referenced",
            StatusCheck::NotChecked => "not_checked",
            StatusCheck::Valid => "valid",
            StatusCheck::Revoked => "revoked",
        };
        serde_json::json!({
            "valid": self.valid,
            "reason": self.reason.map(Reason::as_str),
            "detail": self.detail,
            "format": self.format.map(Format::as_str),
            "issuer": self.issuer,
            "kid": self.kid,
            "alg": self.algorithm.map(Algorithm::name),
            "iat": self.issued_at,
            "exp": self.expires_at,
            "type": self.doc_type,
            "fields": fields,
            "sealed": sealed,
            "status": status,
            "dcc": self.dcc,
            "code": self.code,
        })
    }
}

/// Verifies a `CZ1:` or `HC1:` code at time `now` (unix seconds).
///
/// Checks, in order: decoding (`malformed`), a trusted key with that kid, of the right
/// origin, issuer and issuance window (`unknown_key`), the signature (`bad_signature`),
/// `iat` ≤ `now` (`not_yet_valid`), `now` < `exp` (`expired`) and, when `status` is the
/// list the credential points to, revocation (`revoked`). For `HC1:` the signer
/// certificate's extended key usage must allow the certificate type, else `unknown_key`.
#[must_use]
pub fn verify(code: &str, trust: &TrustStore, status: Option<&StatusList>, now: i64) -> Verdict {
    let mut v = Verdict {
        valid: false,
        reason: None,
        detail: String::new(),
        format: None,
        issuer: None,
        kid: None,
        algorithm: None,
        issued_at: None,
        expires_at: None,
        doc_type: None,
        fields: BTreeMap::new(),
        sealed: Sealed::Absent,
        status: StatusCheck::NotReferenced,
        dcc: None,
        code: code.trim_ascii().to_owned(),
    };
    let d = match decode(code) {
        Ok(d) => d,
        Err(e) => {
            v.format = unprefix(code.trim_ascii()).ok().map(|(f, _)| f);
            return v.fail(Reason::Malformed, &e.to_string());
        }
    };
    v.format = Some(d.format);
    v.issuer.clone_from(&d.issuer);
    v.issued_at = d.issued_at;
    v.expires_at = d.expires_at;
    let Some(kid) = d.kid() else {
        return v.fail(Reason::UnknownKey, "no kid");
    };
    v.kid = Some(hex(kid));
    let Ok(alg) = d.cose.algorithm(d.format == Format::Certeza) else {
        return v.fail(Reason::Malformed, "missing or unsupported algorithm");
    };
    let tbs = d.cose.to_be_signed();
    let mut any_candidate = false;
    let mut verified = None;
    for k in trust.candidates(kid) {
        let eligible = match (&k.origin, d.format) {
            (KeyOrigin::TrustList, Format::Certeza) => k.issuer.is_none() || k.issuer == d.issuer,
            (KeyOrigin::Certificate { .. }, Format::EuDcc) => true,
            _ => false,
        } && k.key.algorithm() == alg
            && d.issued_at.is_none_or(|iat| k.covers(iat));
        if !eligible {
            continue;
        }
        any_candidate = true;
        if k.key.verify(&tbs, &d.cose.signature).is_ok() {
            verified = Some(k);
            break;
        }
    }
    let Some(key) = verified else {
        return if any_candidate {
            v.fail(Reason::BadSignature, "signature does not verify")
        } else {
            v.fail(Reason::UnknownKey, "no trusted key for this kid, issuer and date")
        };
    };
    v.algorithm = Some(alg);
    v.doc_type = d.doc_type.as_ref().map(|t| t.as_str().to_owned());
    v.fields.clone_from(&d.fields);
    if let Some(h) = &d.hcert {
        v.dcc = dcc::to_json(h);
        if let KeyOrigin::Certificate { extended_key_usages } = &key.origin
            && !dcc::key_usage_allows(extended_key_usages, h)
        {
            return v.fail(Reason::UnknownKey, "signer not allowed for this certificate type");
        }
    }
    if let Some(e) = &d.sealed {
        v.sealed = match trust.verifier_key(&e.key_id).map(|k| e.decrypt(k.secret())) {
            Some(Ok(plain)) => match cbor::decode(&plain).and_then(|p| fields_from_map(&p, false)) {
                Ok(m) => Sealed::Revealed(m),
                Err(_) => Sealed::Sealed { key_id: hex(&e.key_id) },
            },
            _ => Sealed::Sealed { key_id: hex(&e.key_id) },
        };
    }
    if d.issued_at.is_some_and(|iat| now < iat) {
        return v.fail(Reason::NotYetValid, "issued in the future");
    }
    if d.expires_at.is_some_and(|exp| now >= exp) {
        return v.fail(Reason::Expired, "expired");
    }
    if let Some(r) = &d.status {
        v.status = StatusCheck::NotChecked;
        if let Some(list) = status.filter(|l| l.uri() == r.uri) {
            match list.is_revoked(r.idx) {
                Some(true) => {
                    v.status = StatusCheck::Revoked;
                    return v.fail(Reason::Revoked, "revoked");
                }
                Some(false) => v.status = StatusCheck::Valid,
                None => return v.fail(Reason::Malformed, "status index out of range"),
            }
        }
    }
    v.valid = true;
    "valid".clone_into(&mut v.detail);
    v
}
