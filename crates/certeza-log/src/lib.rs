//! # certeza-log: the transparency-log core
//!
//! This crate is the IO-free heart of Certeza's transparency log. It performs
//! no file, network or clock access: storage is reached through small traits
//! ([`merkle::HashReader`], [`tile::TileReader`]) that the caller implements,
//! and every time value is passed in as an argument. Everything it emits is
//! byte-exact to RFC 6962 / RFC 9162 and to the C2SP specifications
//! (`tlog-tiles`, `tlog-checkpoint`, `signed-note`, `tlog-cosignature`,
//! `tlog-witness`, `tlog-proof`), so that off-the-shelf tools for those formats
//! can audit our log.
//!
//! ## What the log is
//!
//! The log is an append-only sequence of entries ([`entry::LogEntry`]): records
//! that a government service verified something, imported a registry, issued
//! a credential, and so on. Entries carry no personal data, only a salted
//! commitment to the subject and a hash of the details, so publishing the log
//! is safe while still letting anyone check that history is never rewritten.
//! The log commits to its entries with a Merkle tree, and periodically signs
//! a [`checkpoint::Checkpoint`] (origin, size, root hash) as a signed note.
//! Independent witnesses check that each checkpoint extends the previous one
//! and add their cosignatures; a [`proof::Receipt`] bundles an entry's index,
//! its inclusion proof and a cosigned checkpoint into one offline-verifiable
//! file.
//!
//! ## Hashing
//!
//! The Merkle tree is the RFC 6962 tree over SHA-256: a leaf hashes as
//! `SHA-256(0x00 || entry)`, an interior node as `SHA-256(0x01 || left ||
//! right)`, and the empty tree as `SHA-256("")`. Following Go's `sumdb/tlog`,
//! the log stores each hash of each complete subtree exactly once in an
//! append-only array indexed by [`merkle::stored_hash_index`]; appending
//! record `n` appends the hashes returned by
//! [`merkle::stored_hashes_for_record_hash`]. Tree hashes and proofs are then
//! computed by reading a handful of stored hashes. Untrusted proofs are
//! checked with [`merkle::verify_inclusion`] and [`merkle::verify_consistency`],
//! transcriptions of RFC 9162 §2.1.3.2 and §2.1.4.2 that are exercised by the
//! shared test vectors.
//!
//! ## Tiles
//!
//! The log is served as static files following C2SP `tlog-tiles`: runs of 256
//! hashes ("tiles") at levels that are 8 Merkle levels apart, plus "entry
//! bundles" holding the entries of each level-0 tile. [`tile::tiles_for_size`]
//! lists what to publish when the tree grows, [`tile::read_tile_data`] renders
//! a tile from stored hashes, and [`tile::Tile::path`] names it. On the client
//! side, [`tile::TileHashReader`] serves hashes out of fetched tiles, and
//! unlike the Go reference it authenticates *every* tile it reads against the
//! signed tree hash (edge tiles by recomputing the root, every other tile
//! against its already authenticated parent) before returning anything.
//!
//! ## Notes, checkpoints, cosignatures
//!
//! A signed note ([`note`]) is a UTF-8 text followed by a blank line and
//! signature lines `— <key name> base64(key ID || signature)`. Log keys are
//! Ed25519 with key IDs derived with algorithm byte `0x01`; witness
//! cosignatures ([`cosignature`]) use algorithm byte `0x04` and sign
//! `cosignature/v1\ntime <t>\n` followed by the checkpoint text. The witness
//! state machine ([`witness`]) is a pure function from (stored state,
//! request, time) to an outcome the HTTP layer maps onto a status code.
//!
//! ## How the sequencer uses this core
//!
//! The sequencer (in another crate) owns storage and the clock. For each
//! batch it encodes entries with [`entry::LogEntry::encode`], computes leaf
//! hashes with [`merkle::hash_leaf`], appends
//! [`merkle::stored_hashes_for_record_hash`] for each record to its hash
//! store, computes the new root with [`merkle::tree_hash`], renders the tiles
//! from [`tile::tiles_for_size`] with [`tile::read_tile_data`] and the entry
//! bundles with [`tile::encode_entry_bundle`], and signs the checkpoint with
//! [`note::sign_note`]. It then asks witnesses to cosign with an
//! [`witness::AddCheckpointRequest`] carrying [`merkle::prove_tree`]'s
//! consistency proof, and issues receipts built from [`merkle::prove_record`].
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod sequencer;
pub mod tile;
pub mod witness;

pub use merkle::Hash;

/// Every error this crate returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An argument is outside the range the function accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A hash reader has no hash at this stored-hash index.
    #[error("stored hash {0} is not available")]
    HashNotFound(u64),
    /// A hash reader returned the wrong number of hashes.
    #[error("hash reader returned {got} hashes for {want} indexes")]
    HashCount {
        /// How many hashes were requested.
        want: usize,
        /// How many hashes were returned.
        got: usize,
    },
    /// An internal consistency check failed; this is a bug in this crate.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// An inclusion proof did not verify.
    #[error("inclusion proof verification failed: {0}")]
    InclusionProof(&'static str),
    /// A consistency proof did not verify.
    #[error("consistency proof verification failed: {0}")]
    ConsistencyProof(&'static str),
    /// A tile or entry-bundle path is not in canonical form.
    #[error("malformed tile path {path:?}: {reason}")]
    MalformedTilePath {
        /// The offending path.
        path: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Tile data has the wrong shape.
    #[error("malformed tile {tile}: {reason}")]
    MalformedTile {
        /// The tile's path.
        tile: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A fetched tile failed authentication against the signed tree hash.
    #[error("tile {tile} failed authentication: {reason}")]
    TileAuthentication {
        /// The path (or comma-separated paths) of the tile(s) that failed.
        tile: String,
        /// Why authentication failed.
        reason: String,
    },
    /// The caller's tile reader failed or misbehaved.
    #[error("tile reader: {0}")]
    TileRead(String),
    /// An entry bundle is malformed.
    #[error("malformed entry bundle: {0}")]
    MalformedEntryBundle(String),
    /// A signed note is malformed.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A key name is empty or contains a space or a plus sign.
    #[error("invalid key name {0:?}")]
    InvalidKeyName(String),
    /// A verifier key string is malformed.
    #[error("malformed verifier key: {0}")]
    MalformedKey(&'static str),
    /// A note carries no valid signature from any known key.
    #[error("note has no verifiable signatures")]
    UnverifiedNote,
    /// A signature from a known key failed to verify.
    #[error("invalid signature for key {name}+{key_hash:08x}")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_hash: u32,
    },
    /// Two configured verifiers share a name and key ID.
    #[error("ambiguous key {name}+{key_hash:08x}")]
    AmbiguousKey {
        /// The key name.
        name: String,
        /// The key ID.
        key_hash: u32,
    },
    /// A checkpoint body is malformed.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A cosignature is malformed.
    #[error("malformed cosignature: {0}")]
    MalformedCosignature(&'static str),
    /// An add-checkpoint request body is malformed.
    #[error("malformed add-checkpoint request: {0}")]
    MalformedAddCheckpoint(&'static str),
    /// A tlog-proof receipt is malformed.
    #[error("malformed receipt: {0}")]
    MalformedReceipt(&'static str),
    /// A receipt is well formed but does not verify.
    #[error("receipt verification failed: {0}")]
    ReceiptVerification(String),
    /// A log entry is malformed or not canonically encoded.
    #[error("malformed log entry: {0}")]
    MalformedEntry(String),
    /// A promise of inclusion is malformed.
    #[error("malformed promise: {0}")]
    MalformedPromise(&'static str),
    /// The caller's storage (database or tile store) failed.
    #[error("log storage: {0}")]
    Storage(String),
}
