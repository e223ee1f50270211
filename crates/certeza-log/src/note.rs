//! C2SP signed notes with Ed25519 keys.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more
//! signature lines `— <key name> <base64(key ID || signature)>`. Key IDs are
//! the first four bytes of `SHA-256(name || "\n" || algorithm || public key)`,
//! read as a big-endian `u32`. Verifier keys are written
//! `<name>+<key ID as 8 hex digits>+<base64(algorithm || public key)>`.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature as EdSignature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Error;

/// The signature algorithm byte for Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;

/// The most signature lines [`parse_note`] accepts (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The largest note [`parse_note`] accepts, in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

const SIG_PREFIX: &str = "\u{2014} ";

/// Reports whether `name` is a valid key name: non-empty, with no Unicode
/// space and no plus sign. Control characters are also rejected because a
/// note may not contain them.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// Computes a key ID: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || algorithm || public key)`.
pub fn key_hash(name: &str, algorithm: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([algorithm]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Formats a verifier key string `<name>+<hash>+<base64(algorithm || key)>`.
pub(crate) fn format_vkey(name: &str, algorithm: u8, public_key: &[u8]) -> String {
    let mut material = vec![algorithm];
    material.extend_from_slice(public_key);
    format!("{name}+{:08x}+{}", key_hash(name, algorithm, public_key), STANDARD.encode(material))
}

/// Parses a verifier key string whose algorithm byte must be `algorithm` and
/// whose public key is an Ed25519 key, returning the name, key ID and key.
pub(crate) fn parse_vkey(vkey: &str, algorithm: u8) -> Result<(String, u32, VerifyingKey), Error> {
    // The name cannot contain '+', and the hash is fixed width, so only the
    // first two '+' are separators; the base64 part may contain '+'.
    let (name, rest) = vkey.split_once('+').ok_or(Error::MalformedKey("missing key ID"))?;
    let (hash_hex, key_b64) = rest.split_once('+').ok_or(Error::MalformedKey("missing key"))?;
    if !is_valid_key_name(name) {
        return Err(Error::InvalidKeyName(name.to_owned()));
    }
    if hash_hex.len() != 8 || !hash_hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Error::MalformedKey("key ID is not 8 lower-case hex digits"));
    }
    let hash = u32::from_str_radix(hash_hex, 16).map_err(|_| Error::MalformedKey("bad key ID"))?;
    let material = STANDARD.decode(key_b64).map_err(|_| Error::MalformedKey("key is not canonical base64"))?;
    let (&alg, key) = material.split_first().ok_or(Error::MalformedKey("key is empty"))?;
    if alg != algorithm {
        return Err(Error::MalformedKey("unexpected key algorithm"));
    }
    let key: [u8; 32] = key.try_into().map_err(|_| Error::MalformedKey("Ed25519 key is not 32 bytes"))?;
    if key_hash(name, algorithm, &key) != hash {
        return Err(Error::MalformedKey("key ID does not match the key"));
    }
    let key = VerifyingKey::from_bytes(&key).map_err(|_| Error::MalformedKey("invalid Ed25519 key"))?;
    Ok((name.to_owned(), hash, key))
}

/// Something that can check note signatures for one key.
///
/// [`NoteVerifier`] checks plain Ed25519 note signatures;
/// [`crate::cosignature::CosignatureVerifier`] checks witness cosignatures.
pub trait Verifier {
    /// The key name.
    fn name(&self) -> &str;
    /// The key ID.
    fn key_hash(&self) -> u32;
    /// Reports whether `sig` (the signature bytes after the key ID) is a
    /// valid signature of the note text `msg`.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool;
}

/// An Ed25519 note signer. The secret key is zeroized when dropped.
pub struct NoteSigner {
    name: String,
    hash: u32,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.hash))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// Creates a signer named `name` from a 32-byte Ed25519 seed supplied by
    /// the caller (key generation randomness is the caller's job).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, Error> {
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName(name.to_owned()));
        }
        let key = SigningKey::from_bytes(&seed);
        let hash = key_hash(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(NoteSigner { name: name.to_owned(), hash, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The verifier key string for this signer.
    pub fn verifier_key_string(&self) -> String {
        format_vkey(&self.name, ALG_ED25519, self.key.verifying_key().as_bytes())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), hash: self.hash, key: self.key.verifying_key() }
    }

    /// Signs `msg` with the raw Ed25519 key.
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

/// An Ed25519 note verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    hash: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key string `<name>+<8 hex digits>+<base64(0x01 || key)>`.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, Error> {
        let (name, hash, key) = parse_vkey(vkey, ALG_ED25519)?;
        Ok(NoteVerifier { name, hash, key })
    }

    /// Creates a verifier from a name and an Ed25519 public key.
    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<NoteVerifier, Error> {
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName(name.to_owned()));
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| Error::MalformedKey("invalid Ed25519 key"))?;
        Ok(NoteVerifier { name: name.to_owned(), hash: key_hash(name, ALG_ED25519, public_key), key })
    }

    /// The verifier key string.
    pub fn verifier_key_string(&self) -> String {
        format_vkey(&self.name, ALG_ED25519, self.key.as_bytes())
    }
}

impl Verifier for NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_hash(&self) -> u32 {
        self.hash
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &EdSignature::from_bytes(&sig)).is_ok()
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_hash: u32,
    /// The base64 text of the signature line (key ID and signature).
    pub base64: String,
}

impl NoteSignature {
    /// The signature bytes after the 4-byte key ID.
    pub fn signature_bytes(&self) -> Vec<u8> {
        STANDARD.decode(&self.base64).map(|b| b.get(4..).map(<[u8]>::to_vec).unwrap_or_default()).unwrap_or_default()
    }

    /// The signature line, including the final newline.
    pub fn to_line(&self) -> String {
        format!("{SIG_PREFIX}{} {}\n", self.name, self.base64)
    }
}

/// A note split into text and signatures, with no signature checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNote {
    /// The note text, including its final newline.
    pub text: String,
    /// The signature lines, in order, duplicates included.
    pub signatures: Vec<NoteSignature>,
}

/// A note whose signatures were checked against known keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text, including its final newline.
    pub text: String,
    /// Signatures from known keys, all verified (duplicates dropped).
    pub verified: Vec<NoteSignature>,
    /// Signatures from unknown keys, not verified (duplicates dropped).
    pub unverified: Vec<NoteSignature>,
}

fn check_text_chars(s: &str) -> Result<(), Error> {
    if s.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(Error::MalformedNote("note contains a control character"));
    }
    Ok(())
}

/// Parses a signed note into its text and signature lines without checking
/// any signature.
///
/// The note must be valid UTF-8 with no control characters other than
/// newline, at most [`MAX_NOTE_SIZE`] bytes, and end with a blank line followed
/// by 1 to [`MAX_SIGNATURES`] well-formed signature lines.
pub fn parse_note(note: &[u8]) -> Result<ParsedNote, Error> {
    if note.len() > MAX_NOTE_SIZE {
        return Err(Error::MalformedNote("note is too large"));
    }
    let note = std::str::from_utf8(note).map_err(|_| Error::MalformedNote("note is not UTF-8"))?;
    check_text_chars(note)?;
    let split = note.rfind("\n\n").ok_or(Error::MalformedNote("no blank line before signatures"))?;
    let text = &note[..split + 1];
    let sigs = &note[split + 2..];
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(Error::MalformedNote("signature block does not end in a newline"));
    }
    let mut signatures = Vec::new();
    for line in sigs[..sigs.len() - 1].split('\n') {
        if signatures.len() == MAX_SIGNATURES {
            return Err(Error::MalformedNote("too many signatures"));
        }
        let line =
            line.strip_prefix(SIG_PREFIX).ok_or(Error::MalformedNote("signature line lacks the em dash prefix"))?;
        let (name, b64) = line.split_once(' ').ok_or(Error::MalformedNote("signature line lacks a space"))?;
        if !is_valid_key_name(name) {
            return Err(Error::MalformedNote("invalid key name in signature line"));
        }
        let raw = STANDARD.decode(b64).map_err(|_| Error::MalformedNote("signature is not canonical base64"))?;
        if raw.len() < 5 {
            return Err(Error::MalformedNote("signature is too short"));
        }
        signatures.push(NoteSignature {
            name: name.to_owned(),
            key_hash: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            base64: b64.to_owned(),
        });
    }
    Ok(ParsedNote { text: text.to_owned(), signatures })
}

/// Checks the signatures of a parsed note against `verifiers`.
///
/// Signatures from unknown keys (no verifier with that name and key ID) are
/// ignored and reported as unverified. A signature from a known key that
/// fails is an error for the whole note, as is a note with no verified
/// signature, or two verifiers sharing the name and key ID of a signature.
pub fn verify_note(note: ParsedNote, verifiers: &[&dyn Verifier]) -> Result<OpenedNote, Error> {
    let mut verified = Vec::new();
    let mut unverified = Vec::new();
    let mut seen = HashSet::new();
    let mut seen_unverified = HashSet::new();
    for sig in note.signatures {
        let mut matching = verifiers.iter().filter(|v| v.name() == sig.name && v.key_hash() == sig.key_hash);
        let Some(v) = matching.next() else {
            if seen_unverified.insert(sig.clone()) {
                unverified.push(sig);
            }
            continue;
        };
        if matching.next().is_some() {
            return Err(Error::AmbiguousKey { name: sig.name, key_hash: sig.key_hash });
        }
        if !seen.insert((sig.name.clone(), sig.key_hash)) {
            continue;
        }
        let raw = STANDARD.decode(&sig.base64).map_err(|_| Error::MalformedNote("signature is not base64"))?;
        if !v.verify(note.text.as_bytes(), raw.get(4..).unwrap_or_default()) {
            return Err(Error::InvalidSignature { name: sig.name, key_hash: sig.key_hash });
        }
        verified.push(sig);
    }
    if verified.is_empty() {
        return Err(Error::UnverifiedNote);
    }
    Ok(OpenedNote { text: note.text, verified, unverified })
}

/// Parses a signed note and checks its signatures: [`parse_note`] followed by
/// [`verify_note`].
pub fn open_note(note: &[u8], verifiers: &[&dyn Verifier]) -> Result<OpenedNote, Error> {
    verify_note(parse_note(note)?, verifiers)
}

fn check_note_text(text: &str) -> Result<(), Error> {
    if !text.ends_with('\n') {
        return Err(Error::MalformedNote("text does not end in a newline"));
    }
    check_text_chars(text)
}

/// Signs `text` with each signer and returns the encoded note.
///
/// The text must end in a newline and contain no control characters other
/// than newline.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, Error> {
    check_note_text(text)?;
    if signers.is_empty() {
        return Err(Error::InvalidArgument("a note needs at least one signer".to_owned()));
    }
    let mut out = String::with_capacity(text.len() + 1 + signers.len() * 120);
    out.push_str(text);
    out.push('\n');
    for s in signers {
        out.push_str(&signature_line(&s.name, s.hash, &s.sign_raw(text.as_bytes())));
    }
    Ok(out)
}

/// Formats a signature line `— <name> base64(key ID || sig)\n`.
pub(crate) fn signature_line(name: &str, key_hash: u32, sig: &[u8]) -> String {
    let mut raw = key_hash.to_be_bytes().to_vec();
    raw.extend_from_slice(sig);
    format!("{SIG_PREFIX}{name} {}\n", STANDARD.encode(raw))
}
