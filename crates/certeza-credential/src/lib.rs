//! Signed QR credentials and verifiable documents for Certeza, verifiable offline.
//!
//! # Design manual
//!
//! ## Wire format
//!
//! A credential is `CZ1:` + Base45(zlib(COSE_Sign1(CWT))), the same pipeline as the EU
//! Digital COVID Certificate (`HC1:`), so one strict decoder ([`decode`]) serves both:
//!
//! * Base45 per RFC 9285: the whole text must decode; bad characters and groups above
//!   65535 are rejected ([`base45`]).
//! * zlib must be consumed exactly, with a valid checksum, and inflate to at most
//!   [`zlib::MAX_CREDENTIAL_SIZE`] bytes ([`zlib`]).
//! * CBOR must be well formed and fully consumed; definite and indefinite lengths are
//!   accepted, duplicate keys and unassigned simple values are not ([`cbor`]).
//! * COSE_Sign1 may be tagged 18, untagged, or tag 61 around tag 18; nothing else ([`cose`]).
//!   The signature covers RFC 9052's `Sig_structure` `["Signature1", protected, h'', payload]`.
//!
//! Certeza CWT claims: `iss` (1), `exp` (4), `iat` (6), `cti` (7); the document body under
//! [`CLAIM_DOCUMENT`] (-70001) as a map `{"t": type, field: value, …}` with type `cpv`,
//! `constancia` or `cita`; optional sealed fields under [`CLAIM_SEALED`] (-70002) as a
//! COSE_Encrypt0 (AES-256-GCM, alg 3, kid and IV in the unprotected header); optional
//! revocation pointer under [`CLAIM_STATUS`] (65535) as `{"status_list": {"idx", "uri"}}`.
//! The protected header holds `alg` (-8 EdDSA or -7 ES256) and `kid`: the first 8 bytes of
//! SHA-256 of the raw public key ([`Kid`]). For `HC1:` the kid is SHA-256 of the signer
//! certificate's DER, `kid`/`alg` may sit in the unprotected header, and PS256 (-37) is
//! accepted too.
//!
//! ## Issuing and verifying
//!
//! ```
//! use certeza_credential::{Document, DocumentType, IssuerKey, TrustStore, issue, verify};
//! # fn main() -> Result<(), certeza_credential::Error> {
//! let key = IssuerKey::ed25519(&[1; 32], "ine.mx");
//! let doc = Document::new(DocumentType::Cpv).with("nombre", "ANA").with("seccion", 42);
//! let now = 1_750_000_000;
//! let code = issue(&doc, &key, now, 3600)?;
//! let mut trust = TrustStore::new();
//! trust.add_issuer(&key);
//! let verdict = verify(&code, &trust, None, now + 10);
//! assert!(verdict.valid);
//! assert_eq!(verify(&code, &trust, None, now + 3600).reason.map(|r| r.as_str()), Some("expired"));
//! # Ok(()) }
//! ```
//!
//! Time is always a parameter (unix seconds) and randomness is injected ([`IssueOptions`]
//! takes the `cti` and the AES-GCM IV), so everything is deterministic under test.
//! [`verify`] returns a [`Verdict`] whose [`Reason`] names are stable for CLI and JSON
//! (`malformed`, `unknown_key`, `bad_signature`, `expired`, `not_yet_valid`, `revoked`);
//! [`Verdict::to_json`] gives the whole verdict as JSON.
//!
//! ## Trust and rotation
//!
//! A [`TrustList`] is a COSE_Sign1 signed by a root key listing issuer keys with issuance
//! windows; a credential verifies when its kid is listed, its `iss` matches, and its `iat`
//! falls in that key's window, so retiring a key does not invalidate what it signed.
//! [`TrustStore::load`] takes a signed trust list or a PEM file of DCC document-signer
//! certificates. Authorised verifiers add a [`VerifierKey`] to open sealed fields; without
//! it the verdict reports the claim as [`Sealed::Sealed`].
//!
//! ## Revocation
//!
//! [`StatusList`] implements the IETF Token Status List (one bit per credential,
//! zlib-compressed, signed as a CWT), readable offline from a cached file.
//!
//! ## Images
//!
//! [`qr`] renders codes at error-correction level Q to PNG and SVG and decodes them from PNG
//! or JPEG photos with rxing. [`synth`] makes deterministic synthetic photos for tests and
//! [`benchmark`].
//!
//! ## Errors
//!
//! Every failure is an [`Error`]; no input makes this crate panic, and messages never echo
//! the input.

#![forbid(unsafe_code)]

pub mod base45;
mod bench;
pub mod cbor;
pub mod cose;
mod credential;
pub mod dcc;
pub mod der;
mod error;
mod keys;
pub mod qr;
mod status;
pub mod synth;
pub mod time;
mod trust;
pub mod zlib;

pub use bench::{BenchReport, benchmark};
pub use credential::{
    CLAIM_DOCUMENT, CLAIM_HCERT, CLAIM_SEALED, CLAIM_STATUS, DCC_PREFIX, DecodedCredential, Document, DocumentType,
    FieldValue, Format, IssueOptions, MAX_CODE_LEN, PREFIX, Reason, Sealed, StatusCheck, Verdict, decode, issue,
    issue_with, unprefix, verify,
};
pub use der::Certificate;
pub use error::{Error, Result};
pub use keys::{Algorithm, IssuerKey, Kid, PublicKey, hex};
pub use status::{STATUS_LIST_TYPE, StatusList, StatusRef};
pub use trust::{KeyOrigin, TRUST_LIST_TYPE, TrustList, TrustListEntry, TrustStore, TrustedKey, VerifierKey};
