//! The transparency log's durable storage: the pending queue, integrated
//! entries, stored hashes, signed checkpoints and single-writer leases, on
//! SQLite and PostgreSQL, plus a filesystem [`TileStore`].
//!
//! [`LogStore`] (from [`crate::Store::log`]) implements
//! [`certeza_log::sequencer::LogStorage`], so a
//! [`certeza_log::sequencer::Sequencer`] can run over either backend, and
//! offers what readers and submitters need:
//!
//! * **Synchronous submission**: [`LogStore::append_and_wait`] queues the
//!   entry durably and returns only once a committed batch holds it, with a
//!   `tlog-proof` [`Receipt`] against the latest signed checkpoint.
//! * **Queued submission**: [`StoreTransaction::enqueue_log_entry`] queues the
//!   entry inside the caller's own transaction (see
//!   [`LogStore::with_transaction`]), so the caller's rows and the log entry
//!   commit or roll back together. The returned [`Enqueued`] turns into a
//!   signed [`Promise`] with [`Enqueued::promise`]; the proof is fetched later
//!   with [`LogStore::receipt_for_pending`].
//! * **Readers**: [`LogStore::latest_checkpoint`], [`LogStore::entries`],
//!   [`LogStore::hash_reader`] (a [`HashReader`] over the stored hashes),
//!   [`LogStore::receipt`], [`LogStore::consistency_proof`] and
//!   [`LogStore::pending_status`].
//! * **Leases**: [`LogStore::acquire_lease`] (acquire or renew),
//!   [`LogStore::release_lease`], [`LogStore::lease_holder`]. A lease is a row
//!   `(name, holder, expires_at_ms)`; the integrate transaction re-checks it
//!   (with the row locked on PostgreSQL, under SQLite's write lock), so a
//!   sequencer whose lease expired can never write.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use certeza_log::Hash;
use certeza_log::merkle::{HashReader, hash_leaf, prove_record, prove_tree, stored_hash_count};
use certeza_log::proof::Receipt;
use certeza_log::sequencer::{
    IntegrateOutcome, Integration, IntegrationSignal, LeaseClaim, LogStorage, PendingEntry, Promise, SignedCheckpoint,
    TileStore,
};
use certeza_log::tile::MAX_ENTRY_SIZE;
use rusqlite::{Connection, OptionalExtension, params};

use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;
use crate::{Store, StoreError};

/// The log storage of one [`Store`].
#[derive(Clone, Copy)]
pub enum LogStore<'a> {
    /// On SQLite.
    Sqlite(&'a SqliteStore),
    /// On PostgreSQL.
    Postgres(&'a PostgresStore),
}

/// An open transaction of either backend, in which a caller writes its own
/// rows and queues log entries atomically.
pub enum StoreTransaction<'t, 'c> {
    /// A SQLite transaction (`BEGIN IMMEDIATE`).
    Sqlite(&'t rusqlite::Transaction<'c>),
    /// A PostgreSQL transaction.
    Postgres(&'t mut postgres::Transaction<'c>),
}

/// A queued entry: what the caller keeps to fetch its proof later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The pending id (never reused).
    pub pending_id: u64,
    /// The entry's RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// The latest time the entry will be integrated (queue time plus the
    /// maximum merge delay).
    pub promised_by_unix_millis: u64,
}

impl Enqueued {
    /// The promise of inclusion for this entry in the log `origin`; sign it
    /// with [`Promise::sign`] and the log's key.
    pub fn promise(&self, origin: &str) -> Promise {
        Promise {
            origin: origin.to_owned(),
            leaf_hash: self.leaf_hash,
            pending_id: self.pending_id,
            promised_by_unix_millis: self.promised_by_unix_millis,
        }
    }
}

/// Where a queued entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingStatus {
    /// No entry was ever queued with this id (or its transaction rolled back).
    Unknown,
    /// Queued, not integrated yet.
    Pending {
        /// The promised integration deadline.
        promised_by_unix_millis: u64,
    },
    /// Integrated at this index, covered by the latest checkpoint.
    Integrated {
        /// The log index.
        index: u64,
        /// When its batch was committed.
        integrated_at_unix_millis: u64,
    },
}

/// A counting semaphore.
struct Gate {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

struct Permit<'a>(&'a Gate);

impl Gate {
    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// How many synchronous submitters may query the store at once (well under
/// the connection pool's idle limit).
static WAITER_GATE: Gate = Gate { free: std::sync::Mutex::new(8), freed: std::sync::Condvar::new() };

/// One entry waiting for a group commit.
struct GroupRequest {
    store: usize,
    ticket: u64,
    entry: Vec<u8>,
    now: u64,
    delay: u64,
}

#[derive(Default)]
struct GroupState {
    next_ticket: u64,
    waiting: Vec<GroupRequest>,
    /// The stores (by address) whose leader is committing now.
    leading: Vec<usize>,
    results: HashMap<u64, Result<Enqueued, String>>,
}

/// The process-wide group-commit queue of [`LogStore::enqueue_grouped`].
struct GroupCommit {
    state: std::sync::Mutex<GroupState>,
    done: std::sync::Condvar,
}

static GROUP_COMMIT: std::sync::LazyLock<GroupCommit> = std::sync::LazyLock::new(|| GroupCommit {
    state: std::sync::Mutex::new(GroupState::default()),
    done: std::sync::Condvar::new(),
});

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Log(certeza_log::Error::InvalidArgument(format!("{value} does not fit in 63 bits"))))
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::CorruptRecord("a log number is negative"))
}

fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::CorruptRecord("a log hash is not 32 bytes"))
}

pub(crate) fn check_entry(entry: &[u8]) -> Result<(), StoreError> {
    if entry.is_empty() || entry.len() > MAX_ENTRY_SIZE {
        return Err(StoreError::Log(certeza_log::Error::InvalidArgument(format!(
            "a log entry must be 1 to {MAX_ENTRY_SIZE} bytes, not {}",
            entry.len()
        ))));
    }
    Ok(())
}

const ACQUIRE_LEASE_SQLITE: &str = "INSERT INTO lease (name, holder, expires_at_ms) VALUES (?1, ?2, ?3) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
     WHERE lease.holder = excluded.holder OR lease.expires_at_ms <= ?4";

const ACQUIRE_LEASE_POSTGRES: &str = "INSERT INTO lease (name, holder, expires_at_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
     WHERE lease.holder = excluded.holder OR lease.expires_at_ms <= $4";

impl StoreTransaction<'_, '_> {
    /// Queues `entry` for the log inside this transaction, promising its
    /// integration by `now_unix_millis + max_merge_delay_millis`. Nothing is
    /// queued if the transaction rolls back.
    pub fn enqueue_log_entry(
        &mut self,
        entry: &[u8],
        now_unix_millis: u64,
        max_merge_delay_millis: u64,
    ) -> Result<Enqueued, StoreError> {
        check_entry(entry)?;
        let leaf_hash = hash_leaf(entry);
        let promised_by = now_unix_millis.saturating_add(max_merge_delay_millis);
        let (now, by) = (to_i64(now_unix_millis)?, to_i64(promised_by)?);
        let id: i64 = match self {
            StoreTransaction::Sqlite(tx) => tx
                .prepare_cached(
                    "INSERT INTO log_pending (leaf_hash, data, queued_at_ms, promised_by_ms) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                )?
                .query_row(params![&leaf_hash[..], entry, now, by], |row| row.get(0))?,
            StoreTransaction::Postgres(tx) => tx
                .query_one(
                    "INSERT INTO log_pending (leaf_hash, data, queued_at_ms, promised_by_ms) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&&leaf_hash[..], &entry, &now, &by],
                )?
                .try_get(0)?,
        };
        Ok(Enqueued { pending_id: to_u64(id)?, leaf_hash, promised_by_unix_millis: promised_by })
    }
}

impl<'a> LogStore<'a> {
    /// The log storage of `store`.
    pub fn new(store: &'a Store) -> Self {
        match store {
            Store::Sqlite(s) => LogStore::Sqlite(s),
            Store::Postgres(p) => LogStore::Postgres(p.as_ref()),
        }
    }

    /// Runs `work` in one transaction, committed if it returns `Ok` and rolled
    /// back otherwise. `work` may write its own rows (matching on the backend)
    /// and queue log entries with [`StoreTransaction::enqueue_log_entry`].
    pub fn with_transaction<T>(
        &self,
        work: impl FnOnce(&mut StoreTransaction<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            LogStore::Sqlite(s) => s.with_write_connection(|c| sqlite_transaction(c, work)),
            LogStore::Postgres(p) => p.with_client(|c| {
                let mut tx = c.transaction()?;
                let value = work(&mut StoreTransaction::Postgres(&mut tx))?;
                tx.commit()?;
                Ok(value)
            }),
        }
    }

    /// Runs `work` in one transaction like [`LogStore::with_transaction`],
    /// but a SQLite commit does not wait for the disk: the caller makes it
    /// durable with [`Store::sync_committed_writes`] before acknowledging
    /// anything it wrote. (A PostgreSQL commit is durable when it returns.)
    pub fn with_transaction_before_sync<T>(
        &self,
        work: impl FnOnce(&mut StoreTransaction<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            LogStore::Sqlite(s) => s.with_write_connection_before_sync(|c| sqlite_transaction(c, work)),
            LogStore::Postgres(_) => self.with_transaction(work),
        }
    }

    /// Queues `entry` in its own transaction (see
    /// [`StoreTransaction::enqueue_log_entry`]).
    pub fn enqueue(
        &self,
        entry: &[u8],
        now_unix_millis: u64,
        max_merge_delay_millis: u64,
    ) -> Result<Enqueued, StoreError> {
        self.with_transaction(|tx| tx.enqueue_log_entry(entry, now_unix_millis, max_merge_delay_millis))
    }

    /// Queues `entry` like [`LogStore::enqueue`], but concurrent callers on
    /// the same store share one transaction (group commit): the first caller
    /// to find no commit in progress becomes the leader and commits every
    /// entry queued so far; the others wait for its result. Under load this
    /// turns one write transaction (and one wait for the write lock) per
    /// entry into one per group.
    pub fn enqueue_grouped(
        &self,
        entry: &[u8],
        now_unix_millis: u64,
        max_merge_delay_millis: u64,
    ) -> Result<Enqueued, StoreError> {
        check_entry(entry)?;
        let key = match self {
            LogStore::Sqlite(s) => std::ptr::from_ref(*s) as usize,
            LogStore::Postgres(p) => std::ptr::from_ref(*p) as usize,
        };
        let group = &GROUP_COMMIT;
        let mut state = group.state.lock().unwrap_or_else(|p| p.into_inner());
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push(GroupRequest {
            store: key,
            ticket,
            entry: entry.to_vec(),
            now: now_unix_millis,
            delay: max_merge_delay_millis,
        });
        loop {
            if let Some(result) = state.results.remove(&ticket) {
                return result.map_err(|message| StoreError::Log(certeza_log::Error::Storage(message)));
            }
            if !state.leading.contains(&key) {
                state.leading.push(key);
                let (mine, others): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut state.waiting).into_iter().partition(|r| r.store == key);
                state.waiting = others;
                drop(state);
                let committed = self.with_transaction(|tx| {
                    mine.iter().map(|r| tx.enqueue_log_entry(&r.entry, r.now, r.delay)).collect::<Result<Vec<_>, _>>()
                });
                state = group.state.lock().unwrap_or_else(|p| p.into_inner());
                match committed {
                    Ok(queued) => {
                        for (request, queued) in mine.iter().zip(queued) {
                            state.results.insert(request.ticket, Ok(queued));
                        }
                    }
                    Err(error) => {
                        for request in &mine {
                            state.results.insert(request.ticket, Err(error.to_string()));
                        }
                    }
                }
                state.leading.retain(|k| *k != key);
                group.done.notify_all();
                continue;
            }
            state = group.done.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Queues `entry` durably and waits until a committed batch holds it,
    /// then returns its receipt against the latest signed checkpoint. The
    /// sequencer may run in this process (pass its `signal` to wake up at
    /// once) or in another instance sharing the database (this polls).
    ///
    /// On timeout the entry stays queued: it will still be integrated, and
    /// [`StoreError::LogTimeout`] carries its pending id.
    pub fn append_and_wait(
        &self,
        entry: &[u8],
        now_unix_millis: u64,
        timeout: Duration,
        signal: Option<&IntegrationSignal>,
    ) -> Result<Receipt, StoreError> {
        let delay = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let queued = self.enqueue_grouped(entry, now_unix_millis, delay)?;
        let deadline = Instant::now() + timeout;
        loop {
            let generation = signal.map(IntegrationSignal::generation);
            // At most a few waiters query at once, so that hundreds of them
            // share the connection pool instead of opening connections.
            let found = {
                let _permit = WAITER_GATE.acquire();
                self.receipt_for_pending(queued.pending_id)?
            };
            if let Some(receipt) = found {
                return Ok(receipt);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(StoreError::LogTimeout { pending_id: queued.pending_id });
            }
            match (signal, generation) {
                (Some(signal), Some(seen)) => {
                    signal.wait(seen, remaining.min(Duration::from_millis(50)));
                }
                _ => std::thread::sleep(remaining.min(Duration::from_millis(5))),
            }
        }
    }

    /// The latest signed checkpoint, or `None` before the first batch.
    pub fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        const SQL: &str = "SELECT size, root, note FROM log_checkpoint ORDER BY size DESC LIMIT 1";
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| sqlite_latest_checkpoint(c)),
            LogStore::Postgres(p) => p.with_client(|c| match c.query_opt(SQL, &[])? {
                Some(row) => Ok(Some(SignedCheckpoint {
                    size: to_u64(row.try_get(0)?)?,
                    root: to_hash(row.try_get(1)?)?,
                    note: row.try_get(2)?,
                })),
                None => Ok(None),
            }),
        }
    }

    /// The signed checkpoints with sizes in `from_size..=to_size`, smallest
    /// first (one per batch), at most `limit` of them.
    pub fn checkpoints(&self, from_size: u64, to_size: u64, limit: usize) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let (from, to, limit) = (to_i64(from_size)?, to_i64(to_size)?, to_i64(limit as u64)?);
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                let mut statement = c.prepare_cached(
                    "SELECT size, root, note FROM log_checkpoint WHERE size BETWEEN ?1 AND ?2 ORDER BY size LIMIT ?3",
                )?;
                let rows = statement.query_map(params![from, to, limit], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, String>(2)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (size, root, note) = row?;
                    out.push(SignedCheckpoint { size: to_u64(size)?, root: to_hash(root)?, note });
                }
                Ok(out)
            }),
            LogStore::Postgres(p) => p.with_client(|c| {
                let rows = c.query(
                    "SELECT size, root, note FROM log_checkpoint WHERE size BETWEEN $1 AND $2 ORDER BY size LIMIT $3",
                    &[&from, &to, &limit],
                )?;
                rows.iter()
                    .map(|row| {
                        Ok(SignedCheckpoint {
                            size: to_u64(row.try_get(0)?)?,
                            root: to_hash(row.try_get(1)?)?,
                            note: row.try_get(2)?,
                        })
                    })
                    .collect()
            }),
        }
    }

    /// The bytes of the entries with indexes `start..end`; fails unless all
    /// of them are integrated.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let (lo, hi) = (to_i64(start)?, to_i64(end)?);
        let entries: Vec<Vec<u8>> = match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                let mut statement =
                    c.prepare_cached("SELECT data FROM log_entry WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
                let rows = statement.query_map(params![lo, hi], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })?,
            LogStore::Postgres(p) => p.with_client(|c| {
                let rows =
                    c.query("SELECT data FROM log_entry WHERE idx >= $1 AND idx < $2 ORDER BY idx", &[&lo, &hi])?;
                rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
            })?,
        };
        if entries.len() as u64 != end - start {
            return Err(StoreError::Log(certeza_log::Error::InvalidArgument(format!(
                "entries {start}..{end} are not all integrated"
            ))));
        }
        Ok(entries)
    }

    /// The stored hashes at `indexes`, in order.
    pub fn stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                let mut statement = c.prepare_cached("SELECT hash FROM log_hash WHERE idx = ?1")?;
                indexes
                    .iter()
                    .map(|&i| {
                        let hash: Option<Vec<u8>> = statement.query_row([to_i64(i)?], |row| row.get(0)).optional()?;
                        to_hash(hash.ok_or(StoreError::Log(certeza_log::Error::HashNotFound(i)))?)
                    })
                    .collect()
            }),
            LogStore::Postgres(p) => p.with_client(|c| {
                let wanted = indexes.iter().map(|&i| to_i64(i)).collect::<Result<Vec<_>, _>>()?;
                let rows = c.query("SELECT idx, hash FROM log_hash WHERE idx = ANY($1)", &[&wanted])?;
                let mut found = HashMap::with_capacity(rows.len());
                for row in rows {
                    found.insert(to_u64(row.try_get(0)?)?, to_hash(row.try_get(1)?)?);
                }
                indexes
                    .iter()
                    .map(|i| found.get(i).copied().ok_or(StoreError::Log(certeza_log::Error::HashNotFound(*i))))
                    .collect()
            }),
        }
    }

    /// A [`HashReader`] over the stored hashes, for proofs and tiles.
    pub fn hash_reader(&self) -> LogHashReader<'a> {
        LogHashReader { store: *self }
    }

    /// The receipt for the entry at `index` against the latest checkpoint, or
    /// `None` if the latest checkpoint does not cover it yet. The receipt's
    /// unauthenticated `extra` field carries the entry itself (entries hold no
    /// personal data), so a holder can check it offline without the log.
    pub fn receipt(&self, index: u64) -> Result<Option<Receipt>, StoreError> {
        let Some(head) = self.latest_checkpoint()? else { return Ok(None) };
        if index >= head.size {
            return Ok(None);
        }
        // Stored hashes never change, so reading them after the checkpoint is consistent.
        let proof = prove_record(head.size, index, &self.hash_reader())?;
        let entry = self.entries(index, index + 1)?.into_iter().next().filter(|entry| !entry.is_empty());
        Ok(Some(Receipt { extra: entry, index, proof, checkpoint: head.note }))
    }

    /// The consistency proof between two tree sizes, `1 <= old <= new <=` the
    /// latest checkpoint's size.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, StoreError> {
        let size = self.latest_checkpoint()?.map_or(0, |c| c.size);
        if new_size > size {
            return Err(StoreError::Log(certeza_log::Error::InvalidArgument(format!(
                "size {new_size} is beyond the latest checkpoint ({size})"
            ))));
        }
        Ok(prove_tree(new_size, old_size, &self.hash_reader())?)
    }

    /// Where the entry queued with `pending_id` is.
    pub fn pending_status(&self, pending_id: u64) -> Result<PendingStatus, StoreError> {
        let id = to_i64(pending_id)?;
        let (integrated, pending): (Option<(i64, i64)>, Option<i64>) = match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                let integrated = c
                    .prepare_cached("SELECT idx, integrated_at_ms FROM log_entry WHERE pending_id = ?1")?
                    .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                let pending = c
                    .prepare_cached("SELECT promised_by_ms FROM log_pending WHERE id = ?1")?
                    .query_row([id], |row| row.get(0))
                    .optional()?;
                Ok((integrated, pending))
            })?,
            LogStore::Postgres(p) => p.with_client(|c| {
                let integrated = c
                    .query_opt("SELECT idx, integrated_at_ms FROM log_entry WHERE pending_id = $1", &[&id])?
                    .map(|row| Ok::<_, StoreError>((row.try_get(0)?, row.try_get(1)?)))
                    .transpose()?;
                let pending = c
                    .query_opt("SELECT promised_by_ms FROM log_pending WHERE id = $1", &[&id])?
                    .map(|row| row.try_get(0))
                    .transpose()?;
                Ok((integrated, pending))
            })?,
        };
        Ok(match (integrated, pending) {
            (Some((index, at)), _) => {
                PendingStatus::Integrated { index: to_u64(index)?, integrated_at_unix_millis: to_u64(at)? }
            }
            (None, Some(by)) => PendingStatus::Pending { promised_by_unix_millis: to_u64(by)? },
            (None, None) => PendingStatus::Unknown,
        })
    }

    /// The receipt of the entry queued with `pending_id`, once integrated.
    pub fn receipt_for_pending(&self, pending_id: u64) -> Result<Option<Receipt>, StoreError> {
        match self.pending_status(pending_id)? {
            PendingStatus::Integrated { index, .. } => self.receipt(index),
            _ => Ok(None),
        }
    }

    /// The number of entries waiting to be integrated.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM log_pending";
        let count: i64 = match self {
            LogStore::Sqlite(s) => s.with_connection(|c| Ok(c.query_row(SQL, [], |row| row.get(0))?))?,
            LogStore::Postgres(p) => p.with_client(|c| Ok(c.query_one(SQL, &[])?.try_get(0)?))?,
        };
        to_u64(count)
    }

    /// Acquires the lease `name` for `holder` until `now + ttl`, or renews it
    /// if `holder` holds it. Returns false while another holder's lease runs.
    pub fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now_unix_millis: u64,
        ttl_millis: u64,
    ) -> Result<bool, StoreError> {
        let now = to_i64(now_unix_millis)?;
        let until = to_i64(now_unix_millis.saturating_add(ttl_millis))?;
        let changed = match self {
            LogStore::Sqlite(s) => {
                s.with_connection(|c| Ok(c.execute(ACQUIRE_LEASE_SQLITE, params![name, holder, until, now])? as u64))?
            }
            LogStore::Postgres(p) => {
                p.with_client(|c| Ok(c.execute(ACQUIRE_LEASE_POSTGRES, &[&name, &holder, &until, &now])?))?
            }
        };
        Ok(changed == 1)
    }

    /// Releases the lease `name` if `holder` holds it.
    pub fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                c.execute("DELETE FROM lease WHERE name = ?1 AND holder = ?2", params![name, holder])?;
                Ok(())
            }),
            LogStore::Postgres(p) => p.with_client(|c| {
                c.execute("DELETE FROM lease WHERE name = $1 AND holder = $2", &[&name, &holder])?;
                Ok(())
            }),
        }
    }

    /// Who holds the lease `name` at `now`, if anyone.
    pub fn lease_holder(&self, name: &str, now_unix_millis: u64) -> Result<Option<String>, StoreError> {
        let now = to_i64(now_unix_millis)?;
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                Ok(c.query_row(
                    "SELECT holder FROM lease WHERE name = ?1 AND expires_at_ms > ?2",
                    params![name, now],
                    |row| row.get(0),
                )
                .optional()?)
            }),
            LogStore::Postgres(p) => p.with_client(|c| {
                Ok(c.query_opt("SELECT holder FROM lease WHERE name = $1 AND expires_at_ms > $2", &[&name, &now])?
                    .map(|row| row.try_get(0))
                    .transpose()?)
            }),
        }
    }
}

impl LogStore<'_> {
    /// Records a witness's cosignature line for the checkpoint of `size`
    /// (the caller has verified it). The signed checkpoint note itself is
    /// never modified. A second line from the same witness for the same size
    /// replaces the first (a newer timestamp).
    pub fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        now_unix_millis: u64,
    ) -> Result<(), StoreError> {
        let (size, now) = (to_i64(size)?, to_i64(now_unix_millis)?);
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                c.prepare_cached(
                    "INSERT INTO log_cosignature (size, witness, line, cosigned_at_ms) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, \
                     cosigned_at_ms = excluded.cosigned_at_ms",
                )?
                .execute(params![size, witness, line, now])?;
                Ok(())
            }),
            LogStore::Postgres(p) => p.with_client(|c| {
                c.execute(
                    "INSERT INTO log_cosignature (size, witness, line, cosigned_at_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, \
                     cosigned_at_ms = excluded.cosigned_at_ms",
                    &[&size, &witness, &line, &now],
                )?;
                Ok(())
            }),
        }
    }

    /// The cosignature lines stored for the checkpoint of `size`, ordered by
    /// witness key.
    pub fn cosignatures(&self, size: u64) -> Result<Vec<String>, StoreError> {
        let size = to_i64(size)?;
        match self {
            LogStore::Sqlite(s) => s.with_connection(|c| {
                let mut statement =
                    c.prepare_cached("SELECT line FROM log_cosignature WHERE size = ?1 ORDER BY witness")?;
                let rows = statement.query_map([size], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }),
            LogStore::Postgres(p) => p.with_client(|c| {
                let rows = c.query("SELECT line FROM log_cosignature WHERE size = $1 ORDER BY witness", &[&size])?;
                rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
            }),
        }
    }
}

/// A [`HashReader`] over a [`LogStore`]'s stored hashes.
#[derive(Clone, Copy)]
pub struct LogHashReader<'a> {
    store: LogStore<'a>,
}

impl HashReader for LogHashReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, certeza_log::Error> {
        self.store.stored_hashes(indexes).map_err(|error| match error {
            StoreError::Log(error) => error,
            other => certeza_log::Error::Storage(other.to_string()),
        })
    }
}

fn sqlite_latest_checkpoint(c: &Connection) -> Result<Option<SignedCheckpoint>, StoreError> {
    let row: Option<(i64, Vec<u8>, String)> = c
        .prepare_cached("SELECT size, root, note FROM log_checkpoint ORDER BY size DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    row.map(|(size, root, note)| Ok(SignedCheckpoint { size: to_u64(size)?, root: to_hash(root)?, note })).transpose()
}

fn lease_is_held(holder: Option<(String, i64)>, lease: &LeaseClaim<'_>) -> Result<bool, StoreError> {
    let now = to_i64(lease.now_unix_millis)?;
    Ok(holder.is_some_and(|(holder, expires)| holder == lease.holder && expires > now))
}

fn too_few(what: &'static str) -> StoreError {
    StoreError::Log(certeza_log::Error::Storage(format!("integration aborted: {what} changed under the sequencer")))
}

/// Runs `work` in one `BEGIN IMMEDIATE` transaction on `c` and commits it.
fn sqlite_transaction<T>(
    c: &mut Connection,
    work: impl FnOnce(&mut StoreTransaction<'_, '_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let value = work(&mut StoreTransaction::Sqlite(&tx))?;
    tx.commit()?;
    Ok(value)
}

/// The oldest `max` pending entries, in id order.
fn sqlite_read_pending(c: &Connection, max: usize) -> Result<Vec<PendingEntry>, StoreError> {
    let mut statement = c.prepare_cached("SELECT id, data FROM log_pending ORDER BY id LIMIT ?1")?;
    let rows = statement.query_map([to_i64(max as u64)?], |row| Ok((row.get::<_, i64>(0)?, row.get(1)?)))?;
    let mut pending = Vec::new();
    for row in rows {
        let (id, data) = row?;
        pending.push(PendingEntry { id: to_u64(id)?, data });
    }
    Ok(pending)
}

/// The latest checkpoint and the oldest `max` pending entries, read from one
/// snapshot without the writer lock, so that the integration holds the lock
/// (and keeps other writers waiting) for its writes only.
fn sqlite_pending_snapshot(
    c: &mut Connection,
    max: usize,
) -> Result<(Option<SignedCheckpoint>, Vec<PendingEntry>), StoreError> {
    let tx = c.transaction()?;
    let head = sqlite_latest_checkpoint(&tx)?;
    let pending = sqlite_read_pending(&tx, max)?;
    tx.commit()?;
    Ok((head, pending))
}

/// Integrates a batch in one write transaction. `snapshot` is what
/// [`sqlite_pending_snapshot`] read before the lock was taken: it is the
/// batch if the latest checkpoint is still the one it saw. SQLite has one
/// writer at a time and pending ids grow with every commit, so until an
/// integration removes some, the entries a snapshot saw are still the oldest
/// pending ones (newer ones have larger ids and wait for the next batch);
/// the range delete below counts them again.
fn sqlite_integrate<F>(
    c: &mut Connection,
    lease: &LeaseClaim<'_>,
    max: usize,
    snapshot: (Option<SignedCheckpoint>, Vec<PendingEntry>),
    build: F,
) -> Result<IntegrateOutcome, StoreError>
where
    F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, certeza_log::Error>,
{
    // IMMEDIATE takes SQLite's write lock now, so nothing changes under us.
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let holder = tx
        .prepare_cached("SELECT holder, expires_at_ms FROM lease WHERE name = ?1")?
        .query_row([lease.name], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if !lease_is_held(holder, lease)? {
        return Ok(IntegrateOutcome::LeaseNotHeld);
    }
    let head = sqlite_latest_checkpoint(&tx)?;
    let (seen_head, seen_pending) = snapshot;
    let pending = if seen_head == head && seen_pending.len() <= max {
        seen_pending
    } else {
        // Another integration came in between: read the batch again, under the lock.
        sqlite_read_pending(&tx, max)?
    };
    let Some(integration) = build(head.as_ref(), pending)? else { return Ok(IntegrateOutcome::NothingToDo) };
    integration.check_extends(head.as_ref())?;
    let stored: i64 = tx.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_hash", [], |row| row.get(0))?;
    if to_u64(stored)? != integration.hashes_start {
        return Err(too_few("the stored hashes"));
    }
    let at = to_i64(integration.integrated_at_unix_millis)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO log_entry (idx, pending_id, leaf_hash, data, integrated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in &integration.entries {
            insert.execute(params![to_i64(e.index)?, to_i64(e.pending_id)?, &e.leaf_hash[..], e.data, at])?;
        }
        // The batch is the oldest pending entries in id order, so one range
        // delete removes exactly them; the count proves nothing else went.
        if let (Some(first), Some(last)) = (integration.entries.first(), integration.entries.last()) {
            let deleted = tx
                .prepare_cached("DELETE FROM log_pending WHERE id >= ?1 AND id <= ?2")?
                .execute([to_i64(first.pending_id)?, to_i64(last.pending_id)?])?;
            if deleted != integration.entries.len() {
                return Err(too_few("the pending queue"));
            }
        }
        let mut insert = tx.prepare_cached("INSERT INTO log_hash (idx, hash) VALUES (?1, ?2)")?;
        for (i, h) in integration.hashes.iter().enumerate() {
            insert.execute(params![to_i64(integration.hashes_start + i as u64)?, &h[..]])?;
        }
    }
    let c = &integration.checkpoint;
    tx.execute(
        "INSERT INTO log_checkpoint (size, root, note, signed_at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![to_i64(c.size)?, &c.root[..], c.note, at],
    )?;
    tx.commit()?;
    Ok(IntegrateOutcome::Committed(integration))
}

fn postgres_integrate<F>(
    client: &mut postgres::Client,
    lease: &LeaseClaim<'_>,
    max: usize,
    build: F,
) -> Result<IntegrateOutcome, StoreError>
where
    F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, certeza_log::Error>,
{
    let mut tx = client.transaction()?;
    // Locking the lease row serialises integrations and blocks a takeover
    // until this transaction ends.
    let holder = tx
        .query_opt("SELECT holder, expires_at_ms FROM lease WHERE name = $1 FOR UPDATE", &[&lease.name])?
        .map(|row| Ok::<_, StoreError>((row.try_get(0)?, row.try_get(1)?)))
        .transpose()?;
    if !lease_is_held(holder, lease)? {
        return Ok(IntegrateOutcome::LeaseNotHeld);
    }
    let head = match tx.query_opt("SELECT size, root, note FROM log_checkpoint ORDER BY size DESC LIMIT 1", &[])? {
        Some(row) => Some(SignedCheckpoint {
            size: to_u64(row.try_get(0)?)?,
            root: to_hash(row.try_get(1)?)?,
            note: row.try_get(2)?,
        }),
        None => None,
    };
    let rows = tx.query("SELECT id, data FROM log_pending ORDER BY id LIMIT $1", &[&to_i64(max as u64)?])?;
    let pending = rows
        .iter()
        .map(|row| Ok(PendingEntry { id: to_u64(row.try_get(0)?)?, data: row.try_get(1)? }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let Some(integration) = build(head.as_ref(), pending)? else { return Ok(IntegrateOutcome::NothingToDo) };
    integration.check_extends(head.as_ref())?;
    let stored: i64 = tx.query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_hash", &[])?.try_get(0)?;
    if to_u64(stored)? != integration.hashes_start
        || stored_hash_count(integration.old_size) != integration.hashes_start
    {
        return Err(too_few("the stored hashes"));
    }
    let at = to_i64(integration.integrated_at_unix_millis)?;
    if !integration.entries.is_empty() {
        let mut indexes = Vec::with_capacity(integration.entries.len());
        let mut ids = Vec::with_capacity(integration.entries.len());
        let mut leaves = Vec::with_capacity(integration.entries.len());
        let mut data = Vec::with_capacity(integration.entries.len());
        for e in &integration.entries {
            indexes.push(to_i64(e.index)?);
            ids.push(to_i64(e.pending_id)?);
            leaves.push(&e.leaf_hash[..]);
            data.push(e.data.as_slice());
        }
        tx.execute(
            "INSERT INTO log_entry (idx, pending_id, leaf_hash, data, integrated_at_ms) \
             SELECT i, p, l, d, $5 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BYTEA[], $4::BYTEA[]) AS t (i, p, l, d)",
            &[&indexes, &ids, &leaves, &data, &at],
        )?;
        let deleted = tx.execute("DELETE FROM log_pending WHERE id = ANY($1)", &[&ids])?;
        if deleted != ids.len() as u64 {
            return Err(too_few("the pending queue"));
        }
        let hash_indexes = (0..integration.hashes.len() as u64)
            .map(|i| to_i64(integration.hashes_start + i))
            .collect::<Result<Vec<_>, _>>()?;
        let hashes: Vec<&[u8]> = integration.hashes.iter().map(|h| &h[..]).collect();
        tx.execute(
            "INSERT INTO log_hash (idx, hash) SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[])",
            &[&hash_indexes, &hashes],
        )?;
    }
    let c = &integration.checkpoint;
    tx.execute(
        "INSERT INTO log_checkpoint (size, root, note, signed_at_ms) VALUES ($1, $2, $3, $4)",
        &[&to_i64(c.size)?, &&c.root[..], &c.note, &at],
    )?;
    tx.commit()?;
    Ok(IntegrateOutcome::Committed(integration))
}

impl LogStorage for LogStore<'_> {
    type Error = StoreError;

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        LogStore::latest_checkpoint(self)
    }

    fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        self.stored_hashes(indexes)
    }

    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.entries(start, end)
    }

    fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl_millis: u64) -> Result<bool, StoreError> {
        LogStore::acquire_lease(self, claim.name, claim.holder, claim.now_unix_millis, ttl_millis)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        LogStore::release_lease(self, name, holder)
    }

    fn integrate<F>(&self, lease: &LeaseClaim<'_>, max_entries: usize, build: F) -> Result<IntegrateOutcome, StoreError>
    where
        F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, certeza_log::Error>,
    {
        match self {
            LogStore::Sqlite(s) => {
                // The batch commits without waiting for the disk, and the WAL
                // is synced after the writer lock is released: other writers
                // (verifications) are not held up for the sync. Nothing is
                // published before this function returns, so a checkpoint is
                // never served before its batch is durable.
                let snapshot = s.with_connection(|c| sqlite_pending_snapshot(c, max_entries))?;
                let pending = snapshot.1.len();
                let locked = std::time::Instant::now();
                let outcome = s.with_write_connection_before_sync(|c| {
                    let waited = locked.elapsed();
                    let outcome = sqlite_integrate(c, lease, max_entries, snapshot, build);
                    tracing::debug!(
                        pending,
                        waited_micros = waited.as_micros() as u64,
                        held_micros = (locked.elapsed() - waited).as_micros() as u64,
                        "log integration"
                    );
                    outcome
                })?;
                s.sync_write_ahead_log()?;
                Ok(outcome)
            }
            LogStore::Postgres(p) => p.with_client(|c| postgres_integrate(c, lease, max_entries, build)),
        }
    }
}

/// The [`Store`] itself is log storage too, so a sequencer can own an
/// `Arc<Store>` and run on its own thread.
impl LogStorage for Store {
    type Error = StoreError;

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        LogStore::new(self).latest_checkpoint()
    }

    fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        LogStore::new(self).stored_hashes(indexes)
    }

    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        LogStore::new(self).entries(start, end)
    }

    fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl_millis: u64) -> Result<bool, StoreError> {
        LogStorage::acquire_lease(&LogStore::new(self), claim, ttl_millis)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        LogStore::new(self).release_lease(name, holder)
    }

    fn integrate<F>(&self, lease: &LeaseClaim<'_>, max_entries: usize, build: F) -> Result<IntegrateOutcome, StoreError>
    where
        F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, certeza_log::Error>,
    {
        LogStorage::integrate(&LogStore::new(self), lease, max_entries, build)
    }
}

/// Tiles and the checkpoint as files under a root directory: the checkpoint
/// at `<root>/checkpoint`, tiles at `<root>/tile/...`. Each file is written to
/// a temporary file in the same directory, synced, and renamed into place, so
/// a reader sees the old or the new file, never a partial one.
#[derive(Debug)]
pub struct FsTileStore {
    root: PathBuf,
    counter: AtomicU64,
}

impl FsTileStore {
    /// A tile store under `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsTileStore { root: root.into(), counter: AtomicU64::new(0) }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a log path to a file, refusing anything but plain relative
    /// components of ASCII letters, digits, `.`, `_` and `-`.
    fn file(&self, path: &str) -> Result<PathBuf, certeza_log::Error> {
        let valid = !path.is_empty()
            && path.split('/').all(|c| {
                !c.is_empty()
                    && c != "."
                    && c != ".."
                    && !c.starts_with('.')
                    && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if !valid {
            return Err(certeza_log::Error::InvalidArgument(format!("{path:?} is not a tile store path")));
        }
        Ok(self.root.join(path))
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> certeza_log::Error {
    certeza_log::Error::Storage(format!("{}: {error}", path.display()))
}

impl FsTileStore {
    /// Writes `data` to a new temporary file beside `path`'s file (not yet
    /// synced); returns the temporary and final paths.
    fn write_temporary(&self, path: &str, data: &[u8]) -> Result<(PathBuf, PathBuf), certeza_log::Error> {
        let file = self.file(path)?;
        let parent = file.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("tile");
        let temporary =
            parent.join(format!(".{name}.{}.{}.tmp", std::process::id(), self.counter.fetch_add(1, Ordering::Relaxed)));
        let written = fs::File::create(&temporary).and_then(|mut out| out.write_all(data));
        if let Err(e) = written {
            let _ = fs::remove_file(&temporary);
            return Err(io_error(&file, &e));
        }
        Ok((temporary, file))
    }

    /// Syncs a temporary file and moves it into place.
    fn commit_temporary(temporary: &Path, file: &Path) -> Result<(), certeza_log::Error> {
        let committed =
            fs::File::open(temporary).and_then(|out| out.sync_all()).and_then(|()| fs::rename(temporary, file));
        committed.map_err(|e| {
            let _ = fs::remove_file(temporary);
            io_error(file, &e)
        })
    }
}

/// Syncs directories, so that the files renamed into them survive a power
/// loss (a checkpoint must never outlive the tiles it covers).
fn sync_directories<'a>(directories: impl IntoIterator<Item = &'a Path>) -> Result<(), certeza_log::Error> {
    for directory in directories {
        fs::File::open(directory).and_then(|handle| handle.sync_all()).map_err(|e| io_error(directory, &e))?;
    }
    Ok(())
}

impl TileStore for FsTileStore {
    fn put(&self, path: &str, data: &[u8]) -> Result<(), certeza_log::Error> {
        let (temporary, file) = self.write_temporary(path, data)?;
        Self::commit_temporary(&temporary, &file)?;
        sync_directories([file.parent().unwrap_or(&self.root)])
    }

    /// Writes every file, then syncs them from several threads at once (the
    /// filesystem folds concurrent syncs into few journal commits), then
    /// moves each into place.
    fn put_all(&self, files: &[(String, Vec<u8>)]) -> Result<(), certeza_log::Error> {
        let mut written = Vec::with_capacity(files.len());
        for (path, data) in files {
            written.push(self.write_temporary(path, data)?);
        }
        let chunk = written.len().div_ceil(8).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = written
                .chunks(chunk)
                .map(|group| {
                    scope.spawn(move || {
                        group.iter().try_for_each(|(temporary, file)| Self::commit_temporary(temporary, file))
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|worker| {
                worker.join().unwrap_or_else(|_| Err(certeza_log::Error::Storage("a tile writer panicked".to_owned())))
            })
        })?;
        let mut directories: Vec<&Path> = written.iter().filter_map(|(_, file)| file.parent()).collect();
        directories.sort_unstable();
        directories.dedup();
        sync_directories(directories)
    }

    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, certeza_log::Error> {
        let file = self.file(path)?;
        match fs::read(&file) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&file, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_integration_reads_its_batch_again_when_another_came_in_after_its_snapshot() {
        use certeza_log::note::NoteSigner;
        use certeza_log::sequencer::{LEASE_NAME, Sequencer, SequencerConfig, StepOutcome};
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", directory.path().join("certeza.db").display())).unwrap();
        let Store::Sqlite(sqlite) = &store else { panic!("a SQLite store was opened") };
        let log = store.log();
        let tiles = FsTileStore::new(directory.path().join("log"));
        let signer = NoteSigner::from_seed("certeza.test/log", [9; 32]).unwrap();
        let mut sequencer = Sequencer::new(log, &tiles, signer, SequencerConfig::new("certeza.test/log", "a")).unwrap();
        assert_eq!(sequencer.step(1_000).unwrap(), StepOutcome::Integrated { old_size: 0, new_size: 0 });
        let enqueue = |i: u8| log.enqueue(&[i; 40], 1_500, 60_000).unwrap().pending_id;
        let first: Vec<u64> = (1..=3).map(enqueue).collect();
        let stale = sqlite.with_connection(|c| sqlite_pending_snapshot(c, 100)).unwrap();
        assert_eq!(stale.1.iter().map(|entry| entry.id).collect::<Vec<_>>(), first);
        // Another integration takes those three between the snapshot and the lock.
        assert_eq!(sequencer.step(2_000).unwrap(), StepOutcome::Integrated { old_size: 0, new_size: 3 });
        let second: Vec<u64> = (4..=5).map(enqueue).collect();
        let claim = LeaseClaim { name: LEASE_NAME, holder: "a", now_unix_millis: 2_500 };
        let batch_seen = |snapshot| {
            let mut seen = None;
            let outcome = sqlite
                .with_write_connection(|c| {
                    sqlite_integrate(c, &claim, 100, snapshot, |head, pending| {
                        seen = Some((head.map(|head| head.size), pending.iter().map(|entry| entry.id).collect()));
                        Ok(None)
                    })
                })
                .unwrap();
            assert_eq!(outcome, IntegrateOutcome::NothingToDo);
            seen.unwrap()
        };
        assert_eq!(batch_seen(stale), (Some(3), second.clone()));
        // A snapshot still current is the batch; entries queued after it wait.
        let current = sqlite.with_connection(|c| sqlite_pending_snapshot(c, 100)).unwrap();
        enqueue(6);
        assert_eq!(batch_seen(current), (Some(3), second));
    }

    #[test]
    fn tile_store_puts_many_files_at_once_and_leaves_no_temporaries() {
        let directory = tempfile::tempdir().unwrap();
        let tiles = FsTileStore::new(directory.path().join("log"));
        let files: Vec<(String, Vec<u8>)> =
            (0..20u8).map(|i| (format!("tile/0/{:03}.p/{}", i / 3, i % 3 + 1), vec![i; 32])).collect();
        tiles.put_all(&files).unwrap();
        for (path, data) in &files {
            assert_eq!(tiles.get(path).unwrap().as_deref(), Some(data.as_slice()));
        }
        tiles.put_all(&[]).unwrap();
        let mut leftovers = Vec::new();
        let mut pending = vec![directory.path().join("log")];
        while let Some(folder) = pending.pop() {
            for entry in fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.to_string_lossy().ends_with(".tmp") {
                    leftovers.push(path);
                }
            }
        }
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(tiles.put_all(&[("../escape".to_owned(), vec![1])]).is_err());
    }

    #[test]
    fn tile_store_paths_stay_under_the_root() {
        let directory = tempfile::tempdir().unwrap();
        let tiles = FsTileStore::new(directory.path().join("log"));
        tiles.put("tile/0/x001/002.p/7", b"abc").unwrap();
        assert_eq!(tiles.get("tile/0/x001/002.p/7").unwrap().unwrap(), b"abc");
        tiles.put("tile/0/x001/002.p/7", b"de").unwrap();
        assert_eq!(tiles.get("tile/0/x001/002.p/7").unwrap().unwrap(), b"de");
        assert_eq!(tiles.get("checkpoint").unwrap(), None);
        for bad in ["", "../x", "tile/../../x", "/etc/passwd", "tile//0", ".hidden", "tile/a b"] {
            assert!(tiles.put(bad, b"x").is_err(), "{bad:?}");
        }
    }
}
