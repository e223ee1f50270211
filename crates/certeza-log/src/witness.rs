//! C2SP tlog-witness `add-checkpoint`: the request body codec and the pure
//! state transition a witness performs for each request.
//!
//! The HTTP layer reads the body, looks up and atomically updates the stored
//! state, and maps [`AddCheckpointOutcome`] onto a response. Everything else,
//! including every check the specification requires, happens here.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::checkpoint::{Checkpoint, decode_hash, parse_canonical_u64};
use crate::cosignature::CosignatureSigner;
use crate::merkle::{Hash, verify_consistency};
use crate::note::{NoteVerifier, Verifier, parse_note, verify_note};

/// The most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// The body of an `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the previous checkpoint the client believes the witness has.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl AddCheckpointRequest {
    /// Parses a request body strictly: `old <size>\n`, up to 63 base64 hash
    /// lines, an empty line, then a non-empty signed checkpoint note.
    pub fn parse(body: &[u8]) -> Result<AddCheckpointRequest, Error> {
        let body = std::str::from_utf8(body).map_err(|_| Error::MalformedAddCheckpoint("body is not UTF-8"))?;
        let (first, mut rest) = body.split_once('\n').ok_or(Error::MalformedAddCheckpoint("missing old size line"))?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_canonical_u64)
            .ok_or(Error::MalformedAddCheckpoint("old size line is malformed"))?;
        let mut proof = Vec::new();
        loop {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or(Error::MalformedAddCheckpoint("missing empty line before the checkpoint"))?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Error::MalformedAddCheckpoint("more than 63 proof lines"));
            }
            proof.push(decode_hash(line).ok_or(Error::MalformedAddCheckpoint("proof line is not a base64 hash"))?);
        }
        if rest.is_empty() {
            return Err(Error::MalformedAddCheckpoint("missing checkpoint"));
        }
        Ok(AddCheckpointRequest { old_size, proof, checkpoint: rest.to_owned() })
    }

    /// Encodes the request body. Fails if the proof has more than 63 hashes.
    pub fn encode(&self) -> Result<String, Error> {
        if self.proof.len() > MAX_PROOF_LINES {
            return Err(Error::MalformedAddCheckpoint("more than 63 proof lines"));
        }
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        Ok(out)
    }
}

/// A tree head a witness has recorded: size and root hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeState {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
}

/// What a witness does with one request, ready for the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddCheckpointOutcome {
    /// 200: the checkpoint was cosigned. The caller must persist `new_state`
    /// for `origin` atomically with the check of the previous state, then
    /// respond with `signatures`.
    Cosigned {
        /// The checkpoint origin.
        origin: String,
        /// The state to record.
        new_state: TreeState,
        /// The response body: one or more cosignature lines.
        signatures: String,
    },
    /// 400: the request is malformed, or the old size exceeds the checkpoint size.
    BadRequest(String),
    /// 403: no signature from a trusted log key verifies.
    Forbidden(String),
    /// 404: the checkpoint origin is not a known log.
    NotFound,
    /// 409: the old size does not match the recorded size, or the sizes match
    /// but the roots differ. The body is the recorded size and a newline.
    Conflict {
        /// The size of the latest cosigned checkpoint (0 if none).
        latest_size: u64,
    },
    /// 422: the consistency proof does not verify.
    Unprocessable(String),
    /// 500: the witness could not sign (for example a clock beyond 2^63 - 1).
    Internal(String),
}

impl AddCheckpointOutcome {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            AddCheckpointOutcome::Cosigned { .. } => 200,
            AddCheckpointOutcome::BadRequest(_) => 400,
            AddCheckpointOutcome::Forbidden(_) => 403,
            AddCheckpointOutcome::NotFound => 404,
            AddCheckpointOutcome::Conflict { .. } => 409,
            AddCheckpointOutcome::Unprocessable(_) => 422,
            AddCheckpointOutcome::Internal(_) => 500,
        }
    }

    /// The response body.
    pub fn body(&self) -> String {
        match self {
            AddCheckpointOutcome::Cosigned { signatures, .. } => signatures.clone(),
            AddCheckpointOutcome::Conflict { latest_size } => format!("{latest_size}\n"),
            AddCheckpointOutcome::BadRequest(m)
            | AddCheckpointOutcome::Forbidden(m)
            | AddCheckpointOutcome::Unprocessable(m)
            | AddCheckpointOutcome::Internal(m) => format!("{m}\n"),
            AddCheckpointOutcome::NotFound => "unknown log origin\n".to_owned(),
        }
    }

    /// The response content type.
    pub fn content_type(&self) -> &'static str {
        match self {
            AddCheckpointOutcome::Conflict { .. } => "text/x.tlog.size",
            _ => "text/plain; charset=utf-8",
        }
    }
}

/// A witness: its cosigning key and the logs it follows with their keys.
#[derive(Debug)]
pub struct Witness {
    cosigner: CosignatureSigner,
    logs: BTreeMap<String, Vec<NoteVerifier>>,
}

impl Witness {
    /// Creates a witness with no known logs.
    pub fn new(cosigner: CosignatureSigner) -> Witness {
        Witness { cosigner, logs: BTreeMap::new() }
    }

    /// Adds a log by origin with the keys its checkpoints may be signed with.
    pub fn add_log(&mut self, origin: &str, verifiers: Vec<NoteVerifier>) {
        self.logs.insert(origin.to_owned(), verifiers);
    }

    /// The cosigner.
    pub fn cosigner(&self) -> &CosignatureSigner {
        &self.cosigner
    }

    /// Processes one `add-checkpoint` request body at time `now_unix_secs`.
    ///
    /// `latest` returns the latest cosigned state for an origin (`None` if the
    /// witness never cosigned for it). The checks run in the order the
    /// specification lists them: malformed body (400), unknown origin (404),
    /// no trusted signature (403), old size above the checkpoint size (400),
    /// old size different from the recorded size (409), bad consistency proof
    /// (422), equal sizes with different roots (409).
    pub fn add_checkpoint(
        &self,
        body: &[u8],
        now_unix_secs: u64,
        latest: impl FnOnce(&str) -> Option<TreeState>,
    ) -> AddCheckpointOutcome {
        use AddCheckpointOutcome as O;
        let req = match AddCheckpointRequest::parse(body) {
            Ok(r) => r,
            Err(e) => return O::BadRequest(e.to_string()),
        };
        let note = match parse_note(req.checkpoint.as_bytes()) {
            Ok(n) => n,
            Err(e) => return O::BadRequest(e.to_string()),
        };
        let cp = match Checkpoint::parse(&note.text) {
            Ok(c) => c,
            Err(e) => return O::BadRequest(e.to_string()),
        };
        let Some(keys) = self.logs.get(&cp.origin) else {
            return O::NotFound;
        };
        let verifiers: Vec<&dyn Verifier> = keys.iter().map(|k| k as &dyn Verifier).collect();
        let text = note.text.clone();
        if let Err(e) = verify_note(note, &verifiers) {
            return O::Forbidden(e.to_string());
        }
        if req.old_size > cp.size {
            return O::BadRequest("old size is larger than the checkpoint size".to_owned());
        }
        let stored = latest(&cp.origin);
        let stored_size = stored.map_or(0, |s| s.size);
        if req.old_size != stored_size {
            return O::Conflict { latest_size: stored_size };
        }
        match stored {
            Some(prev) if prev.size > 0 => {
                if let Err(e) = verify_consistency(prev.size, cp.size, &req.proof, &prev.root, &cp.root) {
                    if prev.size == cp.size && req.proof.is_empty() {
                        return O::Conflict { latest_size: stored_size };
                    }
                    return O::Unprocessable(e.to_string());
                }
            }
            _ => {
                if !req.proof.is_empty() {
                    return O::Unprocessable("the proof must be empty when the old size is zero".to_owned());
                }
                if let Some(prev) = stored
                    && cp.size == 0
                    && prev.root != cp.root
                {
                    return O::Conflict { latest_size: 0 };
                }
            }
        }
        match self.cosigner.cosign(&text, now_unix_secs) {
            Ok(line) => O::Cosigned {
                origin: cp.origin,
                new_state: TreeState { size: cp.size, root: cp.root },
                signatures: line,
            },
            Err(e) => O::Internal(e.to_string()),
        }
    }
}
