//! C2SP tlog-proof receipts (`c2sp.org/tlog-proof@v1`): an entry's index and
//! inclusion proof together with the checkpoint that proves it, verifiable
//! offline.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::checkpoint::{Checkpoint, decode_hash, parse_canonical_u64};
use crate::cosignature::cosignature_timestamp;
use crate::merkle::{Hash, verify_inclusion};
use crate::note::{NoteSignature, Verifier, parse_note, verify_note};

/// The first line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most inclusion proof lines a receipt may carry.
pub const MAX_PROOF_LINES: usize = 64;

/// A tlog-proof receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Optional unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// The zero-based index of the entry.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim (optionally cosigned).
    pub checkpoint: String,
}

impl Receipt {
    /// Encodes the receipt.
    pub fn encode(&self) -> Result<String, Error> {
        if self.proof.len() > MAX_PROOF_LINES {
            return Err(Error::MalformedReceipt("more than 64 proof lines"));
        }
        let mut out = format!("{RECEIPT_HEADER}\n");
        if let Some(extra) = &self.extra {
            if extra.is_empty() {
                return Err(Error::MalformedReceipt("extra data is empty"));
            }
            out.push_str("extra ");
            out.push_str(&STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        Ok(out)
    }

    /// Parses a receipt strictly.
    pub fn parse(data: &[u8]) -> Result<Receipt, Error> {
        let text = std::str::from_utf8(data).map_err(|_| Error::MalformedReceipt("receipt is not UTF-8"))?;
        let mut rest = text;
        let mut next_line = |what: &'static str| -> Result<&str, Error> {
            let (line, tail) = rest.split_once('\n').ok_or(Error::MalformedReceipt(what))?;
            rest = tail;
            Ok(line)
        };
        if next_line("missing header")? != RECEIPT_HEADER {
            return Err(Error::MalformedReceipt("wrong header line"));
        }
        let mut line = next_line("missing index line")?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let bytes = STANDARD.decode(b64).map_err(|_| Error::MalformedReceipt("extra is not canonical base64"))?;
            if bytes.is_empty() {
                return Err(Error::MalformedReceipt("extra data is empty"));
            }
            extra = Some(bytes);
            line = next_line("missing index line")?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_canonical_u64)
            .ok_or(Error::MalformedReceipt("index line is malformed"))?;
        let mut proof = Vec::new();
        loop {
            let line = next_line("missing empty line before the checkpoint")?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Error::MalformedReceipt("more than 64 proof lines"));
            }
            proof.push(decode_hash(line).ok_or(Error::MalformedReceipt("proof line is not a base64 hash"))?);
        }
        if rest.is_empty() {
            return Err(Error::MalformedReceipt("missing checkpoint"));
        }
        Ok(Receipt { extra, index, proof, checkpoint: rest.to_owned() })
    }
}

/// The result of a successful [`verify_receipt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// Verified signatures from log keys.
    pub log_signatures: Vec<NoteSignature>,
    /// Verified cosignatures from witness keys, with their timestamps; the
    /// caller applies its witness quorum policy to these.
    pub witness_cosignatures: Vec<(NoteSignature, u64)>,
}

/// Verifies a receipt for the entry with leaf hash `leaf_hash` in the log
/// `origin`: the checkpoint must carry a valid signature from one of
/// `log_verifiers`, every signature from a known key (log or witness) must be
/// valid, the origin must match, and the inclusion proof must verify.
///
/// `witness_verifiers` are expected to be
/// [`crate::cosignature::CosignatureVerifier`]s: the timestamp of every
/// verified witness cosignature is returned so the caller can apply its
/// quorum and freshness policy.
pub fn verify_receipt(
    receipt: &Receipt,
    origin: &str,
    leaf_hash: &Hash,
    log_verifiers: &[&dyn Verifier],
    witness_verifiers: &[&dyn Verifier],
) -> Result<VerifiedReceipt, Error> {
    let note = parse_note(receipt.checkpoint.as_bytes())?;
    let mut all: Vec<&dyn Verifier> = log_verifiers.to_vec();
    all.extend_from_slice(witness_verifiers);
    let opened = verify_note(note, &all)?;
    let is_log = |s: &NoteSignature| log_verifiers.iter().any(|v| v.name() == s.name && v.key_hash() == s.key_hash);
    let (log_signatures, witness): (Vec<_>, Vec<_>) = opened.verified.into_iter().partition(is_log);
    if log_signatures.is_empty() {
        return Err(Error::ReceiptVerification("no valid signature from a log key".to_owned()));
    }
    let witness_cosignatures =
        witness.into_iter().map(|s| cosignature_timestamp(&s).map(|t| (s, t))).collect::<Result<Vec<_>, _>>()?;
    let checkpoint = Checkpoint::parse(&opened.text)?;
    if checkpoint.origin != origin {
        return Err(Error::ReceiptVerification(format!(
            "checkpoint origin {:?} is not {:?}",
            checkpoint.origin, origin
        )));
    }
    verify_inclusion(receipt.index, checkpoint.size, leaf_hash, &receipt.proof, &checkpoint.root)?;
    Ok(VerifiedReceipt { checkpoint, log_signatures, witness_cosignatures })
}
