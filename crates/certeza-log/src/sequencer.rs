//! The sequencer: the single writer that turns pending entries into a signed,
//! ever-growing tree.
//!
//! The sequencer performs no file, network or SQL access itself. Durable state
//! lives behind [`LogStorage`] (implemented by `certeza-store` for SQLite and
//! PostgreSQL), published tiles behind [`TileStore`], and every time value is
//! an argument.
//!
//! ## One batch
//!
//! [`Sequencer::step`] integrates one batch:
//!
//! 1. It acquires or renews the sequencer lease ([`LEASE_NAME`]). Without the
//!    lease it does nothing, so of several server instances sharing one
//!    database only one writes.
//! 2. It asks the storage to [`LogStorage::integrate`]: the storage opens one
//!    transaction, re-checks that this holder still holds the lease, reads the
//!    latest signed checkpoint and up to `max_batch` pending entries, and
//!    hands them to the sequencer's build step.
//! 3. The build step checks that the stored checkpoint is the one the
//!    sequencer last saw (otherwise another writer moved the log and the
//!    sequencer recovers before trying again), computes the leaf hashes and
//!    the new stored hashes from its cached right edge (no reads), computes
//!    the new root, proves the new tree consistent with the previous signed
//!    root with [`prove_tree`] and [`check_tree`], and only then signs the new
//!    checkpoint.
//! 4. The storage writes the integrated entries (removing them from the
//!    pending queue), the new stored hashes and the signed checkpoint, and
//!    commits: one durable transaction per batch.
//! 5. After the commit the sequencer publishes the new tiles, entry bundles
//!    and, last, the checkpoint to the [`TileStore`]. Tiles are derived data:
//!    whatever was not published (a crash, a full disk) is published by the
//!    next step or after a restart.
//!
//! Because the signature is made inside the storage transaction that holds
//! the lease and the checkpoint row, every signature is over a tree that
//! extends the latest durable checkpoint, and two signatures are never made
//! concurrently. The only signed checkpoint that can be lost is one whose
//! transaction did not commit; it never left the process, so no one can hold
//! two inconsistent checkpoints of this log.
//!
//! ## Promises
//!
//! A queued submission is answered with a signed promise of inclusion, a
//! signed note (signed with the log's key) whose text is:
//!
//! ```text
//! certeza-promise/v1
//! origin <log origin>
//! leaf <base64 of the RFC 6962 leaf hash>
//! pending <pending id, decimal>
//! promised-by <unix milliseconds, decimal>
//! ```
//!
//! It states that the entry with that leaf hash will be in a checkpoint of the
//! log signed no later than `promised-by` (queue time plus the maximum merge
//! delay). The second line never parses as a tree size, so a promise can never
//! be mistaken for a checkpoint signed by the same key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::checkpoint::{Checkpoint, decode_hash, parse_canonical_u64};
use crate::merkle::{
    Hash, HashReader, check_tree, hash_leaf, prove_record, prove_tree, stored_hash_count, stored_hash_index,
    stored_hashes_for_record_hash, tree_hash,
};
use crate::note::{NoteSigner, Verifier, open_note, parse_note, sign_note};
use crate::proof::Receipt;
use crate::tile::{MAX_ENTRY_SIZE, TILE_WIDTH, encode_entry_bundle, read_tile_data, tiles_for_size};

/// The name of the database lease that makes one sequencer the writer.
pub const LEASE_NAME: &str = "log-sequencer";

/// Most tiles and bundles handed to [`TileStore::put_all`] at once.
const PUBLISH_GROUP: usize = 64;

/// The default largest batch.
pub const DEFAULT_MAX_BATCH: usize = 4096;

/// The default lease lifetime: a crashed writer is replaced after this long.
pub const DEFAULT_LEASE_TTL_MILLIS: u64 = 10_000;

/// The path of the checkpoint in a [`TileStore`].
pub const CHECKPOINT_PATH: &str = "checkpoint";

/// The first line of a promise of inclusion.
pub const PROMISE_HEADER: &str = "certeza-promise/v1";

/// An entry waiting in the durable pending queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// The queue id, assigned by the storage and never reused.
    pub id: u64,
    /// The entry bytes (a canonical [`crate::entry::LogEntry`] or opaque bytes).
    pub data: Vec<u8>,
}

/// A signed checkpoint as stored: its size and root, and the signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The signed note, verbatim.
    pub note: String,
}

/// An entry as integrated into the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegratedEntry {
    /// Its index in the log.
    pub index: u64,
    /// The pending id it had in the queue.
    pub pending_id: u64,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// The entry bytes.
    pub data: Vec<u8>,
}

/// Everything one batch writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// The tree size before the batch.
    pub old_size: u64,
    /// The entries, with indexes `old_size..`, in order.
    pub entries: Vec<IntegratedEntry>,
    /// The stored-hash index of the first new hash (`stored_hash_count(old_size)`).
    pub hashes_start: u64,
    /// The new stored hashes, contiguous from `hashes_start`.
    pub hashes: Vec<Hash>,
    /// The new signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// When the batch was integrated.
    pub integrated_at_unix_millis: u64,
}

impl Integration {
    /// Checks that the integration extends `head` (the latest stored
    /// checkpoint, `None` for a log without one) and is internally coherent.
    /// Storage implementations call this inside the transaction before writing.
    pub fn check_extends(&self, head: Option<&SignedCheckpoint>) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::InvalidArgument(format!("integration rejected: {what}")));
        let head_size = head.map_or(0, |h| h.size);
        if self.old_size != head_size {
            return bad("it does not start at the stored tree size");
        }
        if head.is_some() && self.entries.is_empty() {
            return bad("it adds no entry to an existing checkpoint");
        }
        let new_size = self.old_size.checked_add(self.entries.len() as u64);
        if new_size != Some(self.checkpoint.size) {
            return bad("the checkpoint size does not match the entries");
        }
        if self.entries.iter().enumerate().any(|(i, e)| e.index != self.old_size + i as u64) {
            return bad("entry indexes are not contiguous");
        }
        if self.hashes_start != stored_hash_count(self.old_size)
            || self.hashes.len() as u64 != stored_hash_count(self.checkpoint.size) - self.hashes_start
        {
            return bad("stored hashes do not match the sizes");
        }
        Ok(())
    }
}

/// The lease a storage call must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseClaim<'a> {
    /// The lease name, usually [`LEASE_NAME`].
    pub name: &'a str,
    /// Who claims it (a unique id per process).
    pub holder: &'a str,
    /// The claimant's current time.
    pub now_unix_millis: u64,
}

/// What [`LogStorage::integrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrateOutcome {
    /// The batch was committed.
    Committed(Integration),
    /// The build step had nothing to write; the transaction was rolled back.
    NothingToDo,
    /// The claimant does not hold the lease; nothing was read or written.
    LeaseNotHeld,
}

/// The durable storage of the log, implemented over a database.
///
/// Every method is synchronous. [`LogStorage::integrate`] must run as one
/// transaction that either commits everything the build step returned or
/// nothing.
pub trait LogStorage {
    /// The storage's error type.
    type Error: From<Error> + std::error::Error;

    /// Returns the latest signed checkpoint, or `None` for a new log.
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, Self::Error>;

    /// Returns the stored hashes at `indexes`, in the same order.
    fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error>;

    /// Returns the bytes of the entries with indexes `start..end`.
    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Self::Error>;

    /// Acquires the lease `name` for `holder`, or renews it if `holder`
    /// already holds it, until `now_unix_millis + ttl_millis`. Returns false
    /// when another holder's lease has not expired.
    fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl_millis: u64) -> Result<bool, Self::Error>;

    /// Releases the lease if `holder` holds it.
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), Self::Error>;

    /// In one transaction: checks that `lease` is held (else returns
    /// [`IntegrateOutcome::LeaseNotHeld`]), reads the latest checkpoint and up
    /// to `max_entries` pending entries (oldest first), calls `build`, and, if
    /// it returns an integration, checks it with [`Integration::check_extends`],
    /// stores its entries, hashes and checkpoint, removes its entries from the
    /// pending queue, and commits.
    fn integrate<F>(
        &self,
        lease: &LeaseClaim<'_>,
        max_entries: usize,
        build: F,
    ) -> Result<IntegrateOutcome, Self::Error>
    where
        F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, Error>;
}

impl<S: LogStorage + ?Sized> LogStorage for &S {
    type Error = S::Error;
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, Self::Error> {
        (**self).latest_checkpoint()
    }
    fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_stored_hashes(indexes)
    }
    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Self::Error> {
        (**self).read_entries(start, end)
    }
    fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl_millis: u64) -> Result<bool, Self::Error> {
        (**self).acquire_lease(claim, ttl_millis)
    }
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), Self::Error> {
        (**self).release_lease(name, holder)
    }
    fn integrate<F>(
        &self,
        lease: &LeaseClaim<'_>,
        max_entries: usize,
        build: F,
    ) -> Result<IntegrateOutcome, Self::Error>
    where
        F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, Error>,
    {
        (**self).integrate(lease, max_entries, build)
    }
}

impl<S: LogStorage + ?Sized> LogStorage for Arc<S> {
    type Error = S::Error;
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, Self::Error> {
        (**self).latest_checkpoint()
    }
    fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_stored_hashes(indexes)
    }
    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Self::Error> {
        (**self).read_entries(start, end)
    }
    fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl_millis: u64) -> Result<bool, Self::Error> {
        (**self).acquire_lease(claim, ttl_millis)
    }
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), Self::Error> {
        (**self).release_lease(name, holder)
    }
    fn integrate<F>(
        &self,
        lease: &LeaseClaim<'_>,
        max_entries: usize,
        build: F,
    ) -> Result<IntegrateOutcome, Self::Error>
    where
        F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, Error>,
    {
        (**self).integrate(lease, max_entries, build)
    }
}

/// Where the log's static files (tiles, entry bundles, checkpoint) are published.
///
/// Paths are C2SP `tlog-tiles` paths relative to the log's root:
/// `checkpoint`, `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`. A
/// `put` must replace the file atomically (readers see the old or the new
/// bytes, never a mix).
pub trait TileStore {
    /// Stores `data` at `path`, replacing what was there.
    fn put(&self, path: &str, data: &[u8]) -> Result<(), Error>;
    /// Returns the data at `path`, or `None` if there is none.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Stores several files; each is complete and durable when this returns
    /// (a store may write them concurrently). The default puts them one by one.
    fn put_all(&self, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
        files.iter().try_for_each(|(path, data)| self.put(path, data))
    }
}

impl<T: TileStore + ?Sized> TileStore for &T {
    fn put(&self, path: &str, data: &[u8]) -> Result<(), Error> {
        (**self).put(path, data)
    }
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        (**self).get(path)
    }
    fn put_all(&self, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
        (**self).put_all(files)
    }
}

impl<T: TileStore + ?Sized> TileStore for Arc<T> {
    fn put(&self, path: &str, data: &[u8]) -> Result<(), Error> {
        (**self).put(path, data)
    }
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        (**self).get(path)
    }
    fn put_all(&self, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
        (**self).put_all(files)
    }
}

/// A [`TileStore`] in memory, for tests and tools.
#[derive(Debug, Default)]
pub struct MemoryTileStore {
    files: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryTileStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of files stored.
    pub fn len(&self) -> usize {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TileStore for MemoryTileStore {
    fn put(&self, path: &str, data: &[u8]) -> Result<(), Error> {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).insert(path.to_owned(), data.to_vec());
        Ok(())
    }
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.files.lock().unwrap_or_else(|p| p.into_inner()).get(path).cloned())
    }
}

/// How a sequencer behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencerConfig {
    /// The log's origin line, e.g. `certeza.example.gob.mx/log`.
    pub origin: String,
    /// A unique id of this process, used as the lease holder.
    pub holder: String,
    /// The largest number of entries in one batch.
    pub max_batch: usize,
    /// How long the lease lasts after each renewal.
    pub lease_ttl_millis: u64,
}

impl SequencerConfig {
    /// A configuration with the default batch size and lease lifetime.
    pub fn new(origin: &str, holder: &str) -> Self {
        SequencerConfig {
            origin: origin.to_owned(),
            holder: holder.to_owned(),
            max_batch: DEFAULT_MAX_BATCH,
            lease_ttl_millis: DEFAULT_LEASE_TTL_MILLIS,
        }
    }
}

/// What one [`Sequencer::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Another process holds the lease; nothing was done.
    NotLeader,
    /// The stored log moved under this sequencer (another writer); it will
    /// recover from storage on the next step.
    Stale,
    /// There was nothing to integrate.
    Idle {
        /// The current tree size.
        size: u64,
    },
    /// A batch was committed and published.
    Integrated {
        /// The size before the batch.
        old_size: u64,
        /// The size after the batch.
        new_size: u64,
    },
}

/// Wakes threads waiting for the log to grow (see `append_and_wait` in
/// `certeza-store`), and hands receipts to submitters waiting for particular
/// entries. The sequencer notifies it after every commit, once the batch is
/// published.
#[derive(Default)]
pub struct IntegrationSignal {
    generation: Mutex<u64>,
    changed: Condvar,
    receipts: Mutex<ReceiptWaiters>,
}

impl std::fmt::Debug for IntegrationSignal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("IntegrationSignal").field("generation", &self.generation()).finish_non_exhaustive()
    }
}

/// What receives a receipt: called once, from the sequencer's thread.
pub type ReceiptDelivery = Box<dyn FnOnce(Receipt) + Send>;

#[derive(Default)]
struct ReceiptWaiters {
    /// By pending id: the order of the request, and where the receipt goes.
    waiting: HashMap<u64, (u64, ReceiptDelivery)>,
    requests: u64,
}

/// Most receipt requests kept. Past it the oldest half is dropped: their
/// submitters (gone, or waiting on another instance's sequencer) see their
/// channel close and read storage instead.
const MAX_RECEIPT_WAITERS: usize = 200_000;

impl IntegrationSignal {
    /// A new signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current generation; pass it to [`IntegrationSignal::wait`].
    pub fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Announces that the log changed.
    pub fn notify(&self) {
        let mut generation = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        *generation = generation.wrapping_add(1);
        self.changed.notify_all();
    }

    /// Asks for the receipt of the entry queued as `pending_id`, to be given
    /// to `deliver` by the sequencer of this process right after the batch
    /// that integrates it is committed and published (computed from the batch
    /// in memory: no storage read per submitter). The entry may have been
    /// integrated before this call, and the sequencer may run in another
    /// instance: a submitter reads storage once after asking, and now and
    /// then while it waits, and withdraws with
    /// [`IntegrationSignal::forget_receipt`] when it stops waiting.
    pub fn on_receipt(&self, pending_id: u64, deliver: ReceiptDelivery) {
        let mut receipts = self.receipts.lock().unwrap_or_else(|p| p.into_inner());
        receipts.requests += 1;
        let order = receipts.requests;
        receipts.waiting.insert(pending_id, (order, deliver));
        if receipts.waiting.len() > MAX_RECEIPT_WAITERS {
            let keep_after = order.saturating_sub((MAX_RECEIPT_WAITERS / 2) as u64);
            receipts.waiting.retain(|_, (requested, _)| *requested > keep_after);
        }
    }

    /// Withdraws a request made with [`IntegrationSignal::on_receipt`].
    pub fn forget_receipt(&self, pending_id: u64) {
        self.receipts.lock().unwrap_or_else(|p| p.into_inner()).waiting.remove(&pending_id);
    }

    /// Hands every waiting submitter of `integration` its receipt.
    /// A receipt that cannot be computed is not delivered: its submitter,
    /// whose delivery is dropped, reads it from storage instead.
    fn deliver_receipts<R: HashReader>(&self, integration: &Integration, reader: &R) {
        let waiting: Vec<(&IntegratedEntry, ReceiptDelivery)> = {
            let mut receipts = self.receipts.lock().unwrap_or_else(|p| p.into_inner());
            if receipts.waiting.is_empty() {
                return;
            }
            integration
                .entries
                .iter()
                .filter_map(|entry| receipts.waiting.remove(&entry.pending_id).map(|(_, deliver)| (entry, deliver)))
                .collect()
        };
        let size = integration.checkpoint.size;
        for (entry, deliver) in waiting {
            if let Ok(proof) = prove_record(size, entry.index, reader) {
                let extra = Some(entry.data.clone()).filter(|data| !data.is_empty());
                deliver(Receipt { extra, index: entry.index, proof, checkpoint: integration.checkpoint.note.clone() });
            }
        }
    }

    /// Waits until the generation differs from `seen` or `timeout` passes;
    /// returns the generation then.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) =
            self.changed.wait_timeout_while(guard, timeout, |g| *g == seen).unwrap_or_else(|p| p.into_inner());
        *guard
    }
}

/// The sequencer's in-memory view of the tree: size, root, signed note and
/// the right edge (the hashes of the complete subtrees that make up the tree,
/// which are all that appending needs).
#[derive(Debug, Clone)]
struct CachedTree {
    size: u64,
    root: Hash,
    note: Option<String>,
    edge: HashMap<u64, Hash>,
}

/// Returns the stored-hash indexes of the complete subtrees that make up a
/// tree of `size` records, largest first.
pub fn right_edge_indexes(size: u64) -> Vec<u64> {
    let mut indexes = Vec::new();
    let mut lo = 0u64;
    for level in (0..64u8).rev() {
        if (size >> level) & 1 == 1 {
            indexes.push(stored_hash_index(level, lo >> level));
            lo += 1u64 << level;
        }
    }
    indexes
}

/// Serves hashes from the cached right edge and the hashes of the batch
/// being built, which together are enough to append, compute the root and
/// prove consistency with the previous tree.
struct Overlay<'a> {
    edge: &'a HashMap<u64, Hash>,
    start: u64,
    new: &'a [Hash],
}

impl Overlay<'_> {
    fn get(&self, index: u64) -> Option<Hash> {
        if index >= self.start {
            let offset = usize::try_from(index - self.start).ok()?;
            return self.new.get(offset).copied();
        }
        self.edge.get(&index).copied()
    }
}

impl HashReader for Overlay<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes.iter().map(|&i| self.get(i).ok_or(Error::HashNotFound(i))).collect()
    }
}

/// An overlay that falls back to the storage for older hashes (tile
/// rendering needs hashes left of the right edge).
struct StorageReader<'a, S> {
    overlay: Overlay<'a>,
    storage: &'a S,
}

impl<S: LogStorage> HashReader for StorageReader<'_, S> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        let mut out: Vec<Option<Hash>> = indexes.iter().map(|&i| self.overlay.get(i)).collect();
        let missing: Vec<u64> = indexes.iter().zip(&out).filter(|(_, h)| h.is_none()).map(|(&i, _)| i).collect();
        if !missing.is_empty() {
            let read = self.storage.read_stored_hashes(&missing).map_err(|e| Error::Storage(e.to_string()))?;
            if read.len() != missing.len() {
                return Err(Error::HashCount { want: missing.len(), got: read.len() });
            }
            let mut read = read.into_iter();
            for slot in out.iter_mut().filter(|h| h.is_none()) {
                *slot = read.next();
            }
        }
        out.into_iter().zip(indexes).map(|(h, &i)| h.ok_or(Error::HashNotFound(i))).collect()
    }
}

/// The single writer of the log.
pub struct Sequencer<S, T> {
    storage: S,
    tiles: T,
    signer: NoteSigner,
    config: SequencerConfig,
    tree: Option<CachedTree>,
    published: Option<u64>,
    signal: Option<Arc<IntegrationSignal>>,
}

impl<S: LogStorage, T: TileStore> Sequencer<S, T> {
    /// Creates a sequencer. It reads nothing until its first [`Sequencer::step`].
    ///
    /// Fails if the origin is not a valid checkpoint origin line or the batch
    /// size is zero.
    pub fn new(storage: S, tiles: T, signer: NoteSigner, config: SequencerConfig) -> Result<Self, Error> {
        Checkpoint { origin: config.origin.clone(), size: 0, root: [0; 32], extensions: Vec::new() }.to_note_text()?;
        if config.max_batch == 0 {
            return Err(Error::InvalidArgument("the batch size must be at least 1".to_owned()));
        }
        Ok(Sequencer { storage, tiles, signer, config, tree: None, published: None, signal: None })
    }

    /// Notifies `signal` after every committed batch.
    pub fn with_signal(mut self, signal: Arc<IntegrationSignal>) -> Self {
        self.signal = Some(signal);
        self
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The tile store.
    pub fn tile_store(&self) -> &T {
        &self.tiles
    }

    /// The configuration.
    pub fn config(&self) -> &SequencerConfig {
        &self.config
    }

    /// The tree size this sequencer last committed or recovered, if any.
    pub fn size(&self) -> Option<u64> {
        self.tree.as_ref().map(|t| t.size)
    }

    fn claim(&self, now_unix_millis: u64) -> LeaseClaim<'_> {
        LeaseClaim { name: LEASE_NAME, holder: &self.config.holder, now_unix_millis }
    }

    /// Reloads the tree from storage: size, root and right edge. The stored
    /// hashes must reproduce the signed root and the stored note must carry a
    /// valid signature of this log's key for this origin, otherwise the
    /// sequencer refuses to go on (it would otherwise sign a tree inconsistent
    /// with what it signed before).
    pub fn recover(&mut self) -> Result<(), S::Error> {
        self.tree = None;
        let head = self.storage.latest_checkpoint()?;
        let tree = match head {
            None => CachedTree { size: 0, root: crate::merkle::empty_tree_hash(), note: None, edge: HashMap::new() },
            Some(head) => {
                let opened = open_note(head.note.as_bytes(), &[&self.signer.verifier() as &dyn Verifier])?;
                let checkpoint = Checkpoint::parse(&opened.text)?;
                if checkpoint.origin != self.config.origin
                    || checkpoint.size != head.size
                    || checkpoint.root != head.root
                {
                    return Err(Error::ConsistencyProof("the stored checkpoint does not match its note").into());
                }
                let indexes = right_edge_indexes(head.size);
                let hashes = self.storage.read_stored_hashes(&indexes)?;
                if hashes.len() != indexes.len() {
                    return Err(Error::HashCount { want: indexes.len(), got: hashes.len() }.into());
                }
                let edge: HashMap<u64, Hash> = indexes.into_iter().zip(hashes).collect();
                let root = tree_hash(head.size, &Overlay { edge: &edge, start: u64::MAX, new: &[] })?;
                if root != head.root {
                    return Err(Error::ConsistencyProof("stored hashes do not reproduce the signed root").into());
                }
                CachedTree { size: head.size, root, note: Some(head.note), edge }
            }
        };
        self.tree = Some(tree);
        self.published = None;
        Ok(())
    }

    /// Integrates at most one batch, then publishes what the tile store lacks.
    pub fn step(&mut self, now_unix_millis: u64) -> Result<StepOutcome, S::Error> {
        let ttl = self.config.lease_ttl_millis;
        if !self.storage.acquire_lease(&self.claim(now_unix_millis), ttl)? {
            self.tree = None;
            return Ok(StepOutcome::NotLeader);
        }
        if self.tree.is_none() {
            self.recover()?;
        }
        self.publish_missing(None)?;

        let Some(tree) = self.tree.as_ref() else { return Err(Error::Internal("tree not recovered").into()) };
        let mut stale = false;
        let outcome = {
            let claim = LeaseClaim { name: LEASE_NAME, holder: &self.config.holder, now_unix_millis };
            let signer = &self.signer;
            let origin = &self.config.origin;
            let stale = &mut stale;
            self.storage.integrate(&claim, self.config.max_batch, |head, pending| {
                let same = match (head, &tree.note) {
                    (None, None) => true,
                    (Some(h), Some(note)) => h.size == tree.size && h.root == tree.root && &h.note == note,
                    _ => false,
                };
                if !same {
                    *stale = true;
                    return Ok(None);
                }
                build_integration(tree, head.is_some(), pending, signer, origin, now_unix_millis)
            })?
        };
        if stale {
            self.tree = None;
            return Ok(StepOutcome::Stale);
        }
        match outcome {
            IntegrateOutcome::LeaseNotHeld => {
                self.tree = None;
                Ok(StepOutcome::NotLeader)
            }
            IntegrateOutcome::NothingToDo => Ok(StepOutcome::Idle { size: tree.size }),
            IntegrateOutcome::Committed(integration) => {
                let old_size = integration.old_size;
                let new_size = integration.checkpoint.size;
                let edge = {
                    let overlay =
                        Overlay { edge: &tree.edge, start: integration.hashes_start, new: &integration.hashes };
                    let indexes = right_edge_indexes(new_size);
                    let hashes = overlay.read_hashes(&indexes)?;
                    indexes.into_iter().zip(hashes).collect()
                };
                let old_edge = self.tree.replace(CachedTree {
                    size: new_size,
                    root: integration.checkpoint.root,
                    note: Some(integration.checkpoint.note.clone()),
                    edge,
                });
                let old_edge = old_edge.map(|t| t.edge).unwrap_or_default();
                // Publish first, so that whoever is told of the new checkpoint
                // finds it, its tiles and its entry bundles served.
                let published = self.publish_missing(Some((&integration, &old_edge)));
                if let Some(signal) = &self.signal {
                    signal.notify();
                    // Receipts only for a published checkpoint; otherwise the
                    // submitters find theirs in storage after the next step.
                    if published.is_ok() {
                        let overlay =
                            Overlay { edge: &old_edge, start: integration.hashes_start, new: &integration.hashes };
                        signal.deliver_receipts(&integration, &StorageReader { overlay, storage: &self.storage });
                    }
                }
                published?;
                Ok(StepOutcome::Integrated { old_size, new_size })
            }
        }
    }

    /// Publishes tiles, entry bundles and the checkpoint for the part of the
    /// tree the tile store does not have yet. `fresh` is the batch just
    /// committed (with the right edge before it), whose hashes and entries
    /// need not be read back.
    fn publish_missing(&mut self, fresh: Option<(&Integration, &HashMap<u64, Hash>)>) -> Result<(), S::Error> {
        let Some(tree) = self.tree.as_ref() else { return Ok(()) };
        let Some(note) = tree.note.as_ref() else { return Ok(()) };
        let published = match self.published {
            Some(p) => p,
            None => published_size(&self.tiles, &self.config.origin)?,
        };
        if published > tree.size {
            return Err(Error::Storage(format!(
                "the tile store holds a checkpoint of size {published}, beyond the stored size {}",
                tree.size
            ))
            .into());
        }
        let empty = HashMap::new();
        let overlay = match fresh {
            Some((integration, old_edge)) => {
                Overlay { edge: old_edge, start: integration.hashes_start, new: &integration.hashes }
            }
            None => Overlay { edge: &empty, start: u64::MAX, new: &[] },
        };
        let reader = StorageReader { overlay, storage: &self.storage };
        let fresh_entries = fresh.map(|(i, _)| i);
        // Tiles and bundles go out in groups (written concurrently by a store
        // that can), all before the checkpoint that covers them.
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for tile in tiles_for_size(published, tree.size) {
            files.push((tile.path(), read_tile_data(&tile, &reader)?));
            if tile.level() == 0 {
                let start = tile.index() * u64::from(TILE_WIDTH);
                let end = start + u64::from(tile.width());
                let entries = self.entries_between(start, end, fresh_entries)?;
                let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                files.push((tile.entries_path(), encode_entry_bundle(&refs)?));
            }
            if files.len() >= PUBLISH_GROUP {
                self.tiles.put_all(&std::mem::take(&mut files))?;
            }
        }
        self.tiles.put_all(&files)?;
        if published < tree.size || (published == 0 && self.tiles.get(CHECKPOINT_PATH)?.is_none()) {
            self.tiles.put(CHECKPOINT_PATH, note.as_bytes())?;
        }
        self.published = Some(tree.size);
        Ok(())
    }

    fn entries_between(&self, start: u64, end: u64, fresh: Option<&Integration>) -> Result<Vec<Vec<u8>>, S::Error> {
        let split = fresh.map_or(end, |i| i.old_size.clamp(start, end));
        let mut entries = if start < split { self.storage.read_entries(start, split)? } else { Vec::new() };
        if entries.len() as u64 != split - start {
            return Err(
                Error::Storage(format!("storage returned {} entries for {start}..{split}", entries.len())).into()
            );
        }
        if let Some(fresh) = fresh {
            for e in &fresh.entries {
                if e.index >= split && e.index < end {
                    entries.push(e.data.clone());
                }
            }
        }
        if entries.len() as u64 != end - start {
            return Err(Error::Internal("entry bundle is incomplete").into());
        }
        Ok(entries)
    }

    /// Steps until `stop` is set: immediately again after a full batch,
    /// otherwise `interval` after the previous step began. `now` supplies
    /// the time. Releases the lease on the way out. Returns the first error.
    pub fn run(&mut self, now: &dyn Fn() -> u64, interval: Duration, stop: &AtomicBool) -> Result<(), S::Error> {
        let result = loop {
            if stop.load(Ordering::SeqCst) {
                break Ok(());
            }
            // A fixed cadence: the time a step took counts towards the
            // interval, so a submitter waits at most one interval plus one step.
            let started = std::time::Instant::now();
            match self.step(now()) {
                Ok(StepOutcome::Integrated { old_size, new_size })
                    if new_size - old_size >= self.config.max_batch as u64 => {}
                Ok(StepOutcome::Stale) => {}
                Ok(_) => std::thread::sleep(interval.saturating_sub(started.elapsed())),
                Err(e) => break Err(e),
            }
        };
        let released = self.release();
        result.and(released)
    }

    /// Releases the lease so another instance can take over at once.
    pub fn release(&mut self) -> Result<(), S::Error> {
        self.tree = None;
        self.storage.release_lease(LEASE_NAME, &self.config.holder)
    }
}

/// Reads the size of the checkpoint in the tile store; 0 when there is none
/// or it is not a checkpoint of `origin`.
fn published_size<T: TileStore>(tiles: &T, origin: &str) -> Result<u64, Error> {
    let Some(bytes) = tiles.get(CHECKPOINT_PATH)? else { return Ok(0) };
    let size = parse_note(&bytes)
        .ok()
        .and_then(|note| Checkpoint::parse(&note.text).ok())
        .filter(|c| c.origin == origin)
        .map_or(0, |c| c.size);
    Ok(size)
}

/// The build step: hashes, consistency check, signature. Pure computation.
fn build_integration(
    tree: &CachedTree,
    has_head: bool,
    pending: Vec<PendingEntry>,
    signer: &NoteSigner,
    origin: &str,
    now_unix_millis: u64,
) -> Result<Option<Integration>, Error> {
    if pending.is_empty() && has_head {
        return Ok(None);
    }
    let old_size = tree.size;
    let hashes_start = stored_hash_count(old_size);
    let mut hashes: Vec<Hash> = Vec::with_capacity(pending.len() * 2);
    let mut entries = Vec::with_capacity(pending.len());
    for (i, p) in pending.into_iter().enumerate() {
        if p.data.len() > MAX_ENTRY_SIZE {
            return Err(Error::InvalidArgument(format!("pending entry {} is over {MAX_ENTRY_SIZE} bytes", p.id)));
        }
        let index = old_size + i as u64;
        let leaf_hash = hash_leaf(&p.data);
        let add = stored_hashes_for_record_hash(
            index,
            &leaf_hash,
            &Overlay { edge: &tree.edge, start: hashes_start, new: &hashes },
        )?;
        hashes.extend(add);
        entries.push(IntegratedEntry { index, pending_id: p.id, leaf_hash, data: p.data });
    }
    let new_size = old_size + entries.len() as u64;
    let overlay = Overlay { edge: &tree.edge, start: hashes_start, new: &hashes };
    let root = tree_hash(new_size, &overlay)?;
    // Never sign a tree that does not extend the previous signed one.
    if old_size > 0 {
        let proof = prove_tree(new_size, old_size, &overlay)?;
        check_tree(&proof, new_size, &root, old_size, &tree.root)?;
    }
    let text = Checkpoint { origin: origin.to_owned(), size: new_size, root, extensions: Vec::new() }.to_note_text()?;
    let note = sign_note(&text, &[signer])?;
    Ok(Some(Integration {
        old_size,
        entries,
        hashes_start,
        hashes,
        checkpoint: SignedCheckpoint { size: new_size, root, note },
        integrated_at_unix_millis: now_unix_millis,
    }))
}

/// A promise of inclusion (see the module documentation for its format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    /// The log's origin.
    pub origin: String,
    /// The leaf hash of the promised entry.
    pub leaf_hash: Hash,
    /// The pending id, to fetch the proof with later.
    pub pending_id: u64,
    /// The latest time the entry will be in a signed checkpoint.
    pub promised_by_unix_millis: u64,
}

impl Promise {
    /// Renders the note text.
    pub fn to_note_text(&self) -> Result<String, Error> {
        if self.origin.is_empty() || self.origin.chars().any(char::is_control) {
            return Err(Error::MalformedPromise("origin is empty or has a control character"));
        }
        Ok(format!(
            "{PROMISE_HEADER}\norigin {}\nleaf {}\npending {}\npromised-by {}\n",
            self.origin,
            STANDARD.encode(self.leaf_hash),
            self.pending_id,
            self.promised_by_unix_millis
        ))
    }

    /// Parses a promise note text strictly.
    pub fn parse(text: &str) -> Result<Promise, Error> {
        let body = text.strip_suffix('\n').ok_or(Error::MalformedPromise("text does not end in a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [header, origin, leaf, pending, promised_by] = lines.as_slice() else {
            return Err(Error::MalformedPromise("a promise has exactly five lines"));
        };
        if *header != PROMISE_HEADER {
            return Err(Error::MalformedPromise("wrong header line"));
        }
        let origin = origin
            .strip_prefix("origin ")
            .filter(|o| !o.is_empty())
            .ok_or(Error::MalformedPromise("bad origin line"))?;
        let leaf_hash =
            leaf.strip_prefix("leaf ").and_then(decode_hash).ok_or(Error::MalformedPromise("bad leaf line"))?;
        let pending_id = pending
            .strip_prefix("pending ")
            .and_then(parse_canonical_u64)
            .ok_or(Error::MalformedPromise("bad pending line"))?;
        let promised_by_unix_millis = promised_by
            .strip_prefix("promised-by ")
            .and_then(parse_canonical_u64)
            .ok_or(Error::MalformedPromise("bad promised-by line"))?;
        Ok(Promise { origin: origin.to_owned(), leaf_hash, pending_id, promised_by_unix_millis })
    }

    /// Signs the promise with the log's key.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, Error> {
        sign_note(&self.to_note_text()?, &[signer])
    }

    /// Opens a signed promise, checking the log's signature and the origin.
    pub fn open(note: &[u8], origin: &str, log_verifier: &dyn Verifier) -> Result<Promise, Error> {
        let opened = open_note(note, &[log_verifier])?;
        let promise = Promise::parse(&opened.text)?;
        if promise.origin != origin {
            return Err(Error::MalformedPromise("the promise is for another log"));
        }
        Ok(promise)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::cell::RefCell;

    use super::*;
    use crate::merkle::{check_record, prove_record};
    use crate::tile::{Tile, TileHashReader, TileReader, parse_entry_bundle_for_tile};

    /// An in-memory storage with the same contract as the SQL ones.
    #[derive(Default)]
    struct Memory {
        inner: RefCell<MemoryInner>,
        fail_commit: std::cell::Cell<bool>,
    }

    #[derive(Default)]
    struct MemoryInner {
        pending: Vec<PendingEntry>,
        next_id: u64,
        entries: Vec<Vec<u8>>,
        hashes: Vec<Hash>,
        checkpoints: Vec<SignedCheckpoint>,
        lease: Option<(String, u64)>,
    }

    impl Memory {
        fn enqueue(&self, data: &[u8]) -> u64 {
            let mut inner = self.inner.borrow_mut();
            inner.next_id += 1;
            let id = inner.next_id;
            inner.pending.push(PendingEntry { id, data: data.to_vec() });
            id
        }
    }

    impl LogStorage for Memory {
        type Error = Error;
        fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, Error> {
            Ok(self.inner.borrow().checkpoints.last().cloned())
        }
        fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
            self.inner.borrow().hashes.read_hashes(indexes)
        }
        fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Error> {
            Ok(self.inner.borrow().entries[start as usize..end as usize].to_vec())
        }
        fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl: u64) -> Result<bool, Error> {
            let mut inner = self.inner.borrow_mut();
            match &inner.lease {
                Some((holder, expires)) if holder != claim.holder && *expires > claim.now_unix_millis => Ok(false),
                _ => {
                    inner.lease = Some((claim.holder.to_owned(), claim.now_unix_millis + ttl));
                    Ok(true)
                }
            }
        }
        fn release_lease(&self, _name: &str, holder: &str) -> Result<(), Error> {
            let mut inner = self.inner.borrow_mut();
            if inner.lease.as_ref().is_some_and(|(h, _)| h == holder) {
                inner.lease = None;
            }
            Ok(())
        }
        fn integrate<F>(&self, lease: &LeaseClaim<'_>, max: usize, build: F) -> Result<IntegrateOutcome, Error>
        where
            F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, Error>,
        {
            let (head, pending) = {
                let inner = self.inner.borrow();
                let held = inner.lease.as_ref().is_some_and(|(h, e)| h == lease.holder && *e > lease.now_unix_millis);
                if !held {
                    return Ok(IntegrateOutcome::LeaseNotHeld);
                }
                (inner.checkpoints.last().cloned(), inner.pending.iter().take(max).cloned().collect())
            };
            let Some(integration) = build(head.as_ref(), pending)? else { return Ok(IntegrateOutcome::NothingToDo) };
            integration.check_extends(head.as_ref())?;
            if self.fail_commit.get() {
                return Err(Error::Storage("injected failure".to_owned()));
            }
            let mut inner = self.inner.borrow_mut();
            assert_eq!(inner.hashes.len() as u64, integration.hashes_start);
            inner.hashes.extend_from_slice(&integration.hashes);
            for e in &integration.entries {
                assert_eq!(inner.pending.remove(0).id, e.pending_id);
                inner.entries.push(e.data.clone());
            }
            inner.checkpoints.push(integration.checkpoint.clone());
            Ok(IntegrateOutcome::Committed(integration))
        }
    }

    struct Files<'a>(&'a MemoryTileStore);
    impl TileReader for Files<'_> {
        fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Error> {
            tiles.iter().map(|t| self.0.get(&t.path())?.ok_or(Error::TileRead(t.path()))).collect()
        }
    }

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("test.example/log", [7; 32]).unwrap()
    }

    fn config(max_batch: usize) -> SequencerConfig {
        SequencerConfig { max_batch, ..SequencerConfig::new("test.example/log", "a") }
    }

    #[test]
    fn batches_are_consistent_signed_and_published() {
        let storage = Memory::default();
        let tiles = MemoryTileStore::new();
        let mut seq = Sequencer::new(&storage, &tiles, signer(), config(100)).unwrap();
        assert_eq!(seq.step(1).unwrap(), StepOutcome::Integrated { old_size: 0, new_size: 0 });
        let data: Vec<Vec<u8>> = (0..777u32).map(|i| format!("entry {i}").into_bytes()).collect();
        for d in &data {
            storage.enqueue(d);
        }
        let mut sizes = vec![];
        loop {
            match seq.step(2).unwrap() {
                StepOutcome::Integrated { new_size, .. } => sizes.push(new_size),
                StepOutcome::Idle { size } => {
                    assert_eq!(size, 777);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(sizes, [100, 200, 300, 400, 500, 600, 700, 777]);
        let inner = storage.inner.borrow();
        // Every checkpoint is consistent with every later one.
        for pair in inner.checkpoints.windows(2).skip(1) {
            let proof = prove_tree(pair[1].size, pair[0].size, &inner.hashes).unwrap();
            check_tree(&proof, pair[1].size, &pair[1].root, pair[0].size, &pair[0].root).unwrap();
        }
        // The published tiles authenticate against the checkpoint and the
        // bundles hold the entries.
        let head = inner.checkpoints.last().unwrap();
        let published = tiles.get(CHECKPOINT_PATH).unwrap().unwrap();
        assert_eq!(published, head.note.as_bytes());
        let reader = TileHashReader::new(head.size, head.root, Files(&tiles)).unwrap();
        for (i, d) in data.iter().enumerate() {
            let proof = prove_record(head.size, i as u64, &reader).unwrap();
            check_record(&proof, head.size, &head.root, i as u64, &hash_leaf(d)).unwrap();
        }
        for tile in tiles_for_size(0, 777).into_iter().filter(|t| t.level() == 0) {
            let bundle = tiles.get(&tile.entries_path()).unwrap().unwrap();
            let got = parse_entry_bundle_for_tile(&tile, &bundle).unwrap();
            let start = (tile.index() * 256) as usize;
            assert_eq!(got, data[start..start + got.len()].iter().map(Vec::as_slice).collect::<Vec<_>>());
        }
    }

    #[test]
    fn waiting_submitters_get_receipts_from_the_batch_that_integrates_their_entry() {
        let storage = Memory::default();
        let tiles = MemoryTileStore::new();
        let signal = Arc::new(IntegrationSignal::new());
        let mut seq = Sequencer::new(&storage, &tiles, signer(), config(300)).unwrap().with_signal(signal.clone());
        let data: Vec<Vec<u8>> = (0..700u32).map(|i| format!("entry {i}").into_bytes()).collect();
        let delivered: Arc<Mutex<HashMap<u64, Receipt>>> = Arc::default();
        let mut ids = Vec::new();
        for d in &data {
            let id = storage.enqueue(d);
            ids.push(id);
            // Every other submitter waits; the rest never asked.
            if id % 2 == 0 {
                let delivered = delivered.clone();
                signal.on_receipt(
                    id,
                    Box::new(move |receipt| {
                        delivered.lock().unwrap().insert(id, receipt);
                    }),
                );
            }
        }
        while let StepOutcome::Integrated { .. } = seq.step(5).unwrap() {}
        let delivered = delivered.lock().unwrap();
        assert_eq!(delivered.len(), 350);
        let verifier = signer().verifier();
        for (position, id) in ids.iter().enumerate().filter(|(_, id)| *id % 2 == 0) {
            let receipt = &delivered[id];
            assert_eq!(receipt.index, position as u64);
            assert_eq!(receipt.extra.as_deref(), Some(data[position].as_slice()));
            // Each receipt verifies against the checkpoint of its own batch,
            // published before the receipt was handed over.
            crate::proof::verify_receipt(receipt, "test.example/log", &hash_leaf(&data[position]), &[&verifier], &[])
                .unwrap();
        }
        assert!(delivered[&ids[1]].checkpoint.contains("\n300\n"));
        assert!(delivered[&ids[699]].checkpoint.contains("\n700\n"));
        // A request withdrawn before its batch gets nothing.
        let late = Arc::new(Mutex::new(false));
        let flag = late.clone();
        let next = storage.enqueue(b"one more");
        signal.on_receipt(next, Box::new(move |_| *flag.lock().unwrap() = true));
        signal.forget_receipt(next);
        while let StepOutcome::Integrated { .. } = seq.step(6).unwrap() {}
        assert!(!*late.lock().unwrap());
    }

    #[test]
    fn a_failed_commit_loses_nothing_and_a_new_sequencer_recovers() {
        let storage = Memory::default();
        let tiles = MemoryTileStore::new();
        let mut seq = Sequencer::new(&storage, &tiles, signer(), config(10)).unwrap();
        for i in 0..25u32 {
            storage.enqueue(&i.to_be_bytes());
        }
        seq.step(1).unwrap();
        seq.step(1).unwrap();
        storage.fail_commit.set(true);
        assert!(seq.step(1).is_err());
        storage.fail_commit.set(false);
        drop(seq);
        assert_eq!(storage.inner.borrow().pending.len(), 25 - 20);
        // The crashed sequencer's lease must expire before another takes over.
        let mut other =
            Sequencer::new(&storage, &tiles, signer(), SequencerConfig { holder: "b".into(), ..config(10) }).unwrap();
        assert_eq!(other.step(2).unwrap(), StepOutcome::NotLeader);
        while let StepOutcome::Integrated { .. } = other.step(DEFAULT_LEASE_TTL_MILLIS + 10).unwrap() {}
        assert_eq!(other.size(), Some(25));
        assert_eq!(storage.inner.borrow().entries.len(), 25);
    }

    #[test]
    fn a_sequencer_whose_view_is_stale_recovers_instead_of_forking() {
        let storage = Memory::default();
        let tiles = MemoryTileStore::new();
        let mut a = Sequencer::new(&storage, &tiles, signer(), config(10)).unwrap();
        let mut b =
            Sequencer::new(&storage, &tiles, signer(), SequencerConfig { holder: "b".into(), ..config(10) }).unwrap();
        for i in 0..3u32 {
            storage.enqueue(&i.to_be_bytes());
        }
        assert_eq!(a.step(1).unwrap(), StepOutcome::Integrated { old_size: 0, new_size: 3 });
        // A pauses past its lease; B takes over and moves the log on.
        storage.enqueue(b"b1");
        storage.enqueue(b"b2");
        let later = DEFAULT_LEASE_TTL_MILLIS + 2;
        assert_eq!(b.step(later).unwrap(), StepOutcome::Integrated { old_size: 3, new_size: 5 });
        b.release().unwrap();
        // A wakes up with the lease free and its cached tree at size 3: the
        // build step sees the stored checkpoint moved and signs nothing.
        storage.enqueue(b"a-late");
        let before = storage.inner.borrow().checkpoints.len();
        assert_eq!(a.step(later + 1).unwrap(), StepOutcome::Stale);
        assert_eq!(storage.inner.borrow().checkpoints.len(), before);
        assert_eq!(a.step(later + 2).unwrap(), StepOutcome::Integrated { old_size: 5, new_size: 6 });
    }

    #[test]
    fn a_tampered_store_is_never_signed_over() {
        let storage = Memory::default();
        let tiles = MemoryTileStore::new();
        let mut seq = Sequencer::new(&storage, &tiles, signer(), config(10)).unwrap();
        for i in 0..5u32 {
            storage.enqueue(&i.to_be_bytes());
        }
        seq.step(1).unwrap();
        seq.step(1).unwrap();
        drop(seq);
        // Stored hash 6 is the hash of leaves 0..4, on the right edge of the
        // 5-leaf tree; a fresh sequencer must notice it no longer reproduces
        // the signed root and refuse to sign anything.
        storage.inner.borrow_mut().hashes[6][0] ^= 1;
        storage.enqueue(b"more");
        let before = storage.inner.borrow().checkpoints.len();
        let mut fresh = Sequencer::new(&storage, &tiles, signer(), config(10)).unwrap();
        let error = fresh.step(2).unwrap_err();
        assert!(error.to_string().contains("reproduce the signed root"), "{error}");
        assert_eq!(storage.inner.borrow().checkpoints.len(), before);
        assert_eq!(storage.inner.borrow().pending.len(), 1);
    }

    #[test]
    fn promises_round_trip_and_are_not_checkpoints() {
        let s = signer();
        let promise =
            Promise { origin: "123".into(), leaf_hash: hash_leaf(b"x"), pending_id: 9, promised_by_unix_millis: 42 };
        let note = promise.sign(&s).unwrap();
        assert_eq!(Promise::open(note.as_bytes(), "123", &s.verifier()).unwrap(), promise);
        assert!(Promise::open(note.as_bytes(), "other", &s.verifier()).is_err());
        let text = parse_note(note.as_bytes()).unwrap().text;
        assert!(Checkpoint::parse(&text).is_err());
        assert!(Promise::parse("certeza-promise/v1\norigin a\nleaf x\npending 1\npromised-by 2\n").is_err());
    }

    #[test]
    fn right_edge_matches_tree_hash() {
        let mut hashes: Vec<Hash> = Vec::new();
        for n in 0..200u64 {
            let edge: HashMap<u64, Hash> = right_edge_indexes(n).into_iter().map(|i| (i, hashes[i as usize])).collect();
            let overlay = Overlay { edge: &edge, start: u64::MAX, new: &[] };
            assert_eq!(tree_hash(n, &overlay).unwrap(), tree_hash(n, &hashes).unwrap());
            hashes.extend(stored_hashes_for_record_hash(n, &hash_leaf(&n.to_be_bytes()), &overlay).unwrap());
        }
    }
}
