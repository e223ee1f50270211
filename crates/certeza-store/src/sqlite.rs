//! The embedded SQLite backend (the default): one file, WAL mode.

use std::path::{Path, PathBuf};

use certeza_crypto::BlindIndex;
use rusqlite::{Connection, OptionalExtension, params};

use crate::migrations::{Migration, SQLITE};
use crate::pool::Pool;
use crate::{
    PERSON_INDEX_NAMES, PersonId, PersonIndexes, PersonLookup, RegistryStore, SealedPerson, StoreError, UpsertOutcome,
};

/// A SQLite database file with a small pool of connections.
pub struct SqliteStore {
    path: PathBuf,
    connections: Pool<Connection>,
    /// SQLite has one writer at a time. Writers of this process queue on this
    /// mutex (woken at once when it is free) instead of SQLite's busy handler,
    /// which polls with sleeps of up to 100 ms; other processes still meet
    /// the busy timeout. The mutex holds the one connection that this
    /// process writes with (opened on first use).
    writer: WriterLock,
    /// During a bulk load, the thread that checkpoints the WAL.
    bulk_checkpointer: std::sync::Mutex<Option<BackgroundCheckpointer>>,
    /// While a server runs, the thread that checkpoints the WAL beside the writers.
    background_checkpointer: std::sync::Mutex<Option<BackgroundCheckpointer>>,
    /// WAL frames at which a bulk load's checkpointer restarts the WAL
    /// ([`WAL_RESTART_FRAMES`]; smaller in tests).
    bulk_load_restart_frames: i64,
}

/// The writer lock and the write connection it guards. One connection for
/// the writes made under the lock keeps its page cache: SQLite drops a
/// connection's cache when another connection has committed since its last
/// transaction, and with those writes spread over the pool every batch of
/// verifications read the index pages it was about to change again from the
/// operating system (BENCHMARKS.md, eighth session).
type WriterLock = std::sync::Arc<std::sync::Mutex<Option<Connection>>>;

/// Checkpoints the WAL in the background (during a bulk load, or while a
/// server runs), on its own connection (a passive checkpoint never blocks
/// the writer): committed pages are copied into the database file and
/// synced while the next ones are produced.
struct BackgroundCheckpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl BackgroundCheckpointer {
    /// Starts checkpointing every 100 ms. With `restart`, a server's: once
    /// the WAL holds `restart.1` frames, the thread takes the writer lock
    /// `restart.0` and restarts the WAL from its beginning (which waits for
    /// the readers of older snapshots, a moment), so that the WAL stays
    /// small and no commit ever runs a large checkpoint itself.
    ///
    /// A passive checkpoint that cannot copy the whole WAL (commits keep
    /// coming) writes pages into the database file without syncing it; SQLite
    /// syncs them only when a checkpoint reaches the end of the WAL, which
    /// under load is the restart, under the writer lock: it had up to 0.6 s
    /// of copied pages to flush, 10 to 30 ms that every writer waited. So
    /// this thread syncs the database file itself after each passive
    /// checkpoint, outside the lock, and the restart finds little to flush.
    fn start(connection: Connection, database: PathBuf, restart: Option<(WriterLock, i64)>) -> Option<Self> {
        // The restart waits for readers of older snapshots while holding the
        // writer lock: it gives up after a few milliseconds (and tries again
        // at the next round) rather than hold every writer up.
        if restart.is_some() {
            connection.busy_timeout(std::time::Duration::from_millis(5)).ok()?;
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".to_owned())
            .spawn(move || {
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    // A failed passive checkpoint loses nothing: the frames stay
                    // in the WAL for the next one.
                    let frames = connection
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(1))
                        .unwrap_or(0);
                    sync_database_file(&database);
                    if let Some((writer, restart_frames)) = &restart
                        && frames >= *restart_frames
                    {
                        // The passive checkpoint above copied and synced the
                        // frames of the last 100 ms, which takes a while: a second
                        // one copies what was committed meanwhile, so that the
                        // restart, under the writer lock, has at most a commit or
                        // two left to copy and sync.
                        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(1));
                        sync_database_file(&database);
                        let _writer = writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        let _ = connection.execute_batch("PRAGMA wal_checkpoint(RESTART)");
                    }
                }
            })
            .ok()?;
        Some(Self { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Makes the pages that checkpoints copied into the database file durable.
/// A failure is not an error here: the restart's own sync still runs.
fn sync_database_file(database: &Path) {
    if let Ok(file) = std::fs::File::open(database) {
        let _ = file.sync_data();
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // A bulk load left unfinished (an import that failed) has its
        // checkpointer still running, holding the writer lock's `Arc`.
        for checkpointer in [&mut self.background_checkpointer, &mut self.bulk_checkpointer] {
            let running = checkpointer.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            if let Some(checkpointer) = running {
                checkpointer.stop();
            }
        }
    }
}

impl SqliteStore {
    /// Opens or creates the database file at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self {
            path: path.to_owned(),
            connections: Pool::new(64),
            writer: std::sync::Arc::new(std::sync::Mutex::new(None)),
            bulk_checkpointer: std::sync::Mutex::new(None),
            background_checkpointer: std::sync::Mutex::new(None),
            bulk_load_restart_frames: WAL_RESTART_FRAMES,
        };
        let mut connection = store.connect()?;
        apply_migrations(&mut connection, SQLITE)?;
        create_indexes(&connection)?;
        store.connections.put(connection);
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let unreachable =
            |reason: String| StoreError::Unreachable { url: format!("sqlite://{}", self.path.display()), reason };
        if let Some(parent) = self.path.parent().filter(|parent| !parent.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(unreachable(format!("the directory {} does not exist", parent.display())));
        }
        let connection = Connection::open(&self.path).map_err(|error| unreachable(error.to_string()))?;
        // `synchronous = FULL`: a commit returns once its WAL frames are on
        // disk, so whatever was acknowledged (a log entry, a verification)
        // survives a power loss, not only a crash of this process. Group
        // commit keeps the cost to one sync per batch of writers.
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA busy_timeout = 10000;
                 PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -262144;
                 PRAGMA wal_autocheckpoint = 32768; -- WAL_AUTOCHECKPOINT_PAGES
                 PRAGMA threads = 2;",
            )
            .map_err(|error| unreachable(error.to_string()))?;
        Ok(connection)
    }

    /// Runs `work`, which writes, with this process's write connection while
    /// holding its writer lock.
    pub fn with_write_connection<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_write_connection_kept_if(|connection| {
            let result = work(connection);
            let keep = result.is_ok();
            (result, keep)
        })
    }

    /// Runs `work` with the write connection, which is kept for the next
    /// write only if `work` says so and it is not left inside a transaction.
    /// A write that failed, or panicked (the connection is dropped as the
    /// panic unwinds), may have left settings or a transaction behind: the
    /// next write opens a new connection rather than inherit them.
    fn with_write_connection_kept_if<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> (Result<T, StoreError>, bool),
    ) -> Result<T, StoreError> {
        let mut writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut connection = match writer.take() {
            Some(connection) => connection,
            None => self.connect()?,
        };
        let (result, keep) = work(&mut connection);
        if keep && connection.is_autocommit() {
            *writer = Some(connection);
        }
        result
    }

    /// Starts checkpointing the WAL in the background, on its own connection,
    /// until the store is dropped: a passive checkpoint copies committed pages
    /// into the database file while writers go on, so the checkpoint that a
    /// commit runs once the WAL is large (in the writer, holding everyone
    /// else up) finds little left to copy. For a long-running server.
    pub fn start_background_checkpoints(&self) -> Result<(), StoreError> {
        self.start_background_checkpoints_restarting_at(WAL_RESTART_FRAMES)
    }

    fn start_background_checkpoints_restarting_at(&self, restart_frames: i64) -> Result<(), StoreError> {
        let mut checkpointer = self.background_checkpointer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if checkpointer.is_none() {
            let restart = (self.writer.clone(), restart_frames);
            *checkpointer = BackgroundCheckpointer::start(self.connect()?, self.path.clone(), Some(restart));
        }
        Ok(())
    }

    /// Makes every commit so far durable: one `fdatasync` of the
    /// write-ahead log. Commits append their frames to the WAL in order, so
    /// this covers every commit that returned before it was called; frames
    /// already checkpointed were synced by the checkpoint (which, with
    /// `synchronous = NORMAL`, syncs the WAL before copying it and the
    /// database after).
    pub fn sync_write_ahead_log(&self) -> Result<(), StoreError> {
        match std::fs::File::open(wal_path(&self.path)) {
            Ok(wal) => Ok(wal.sync_data()?),
            // No WAL: every commit is in the database file, synced.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StoreError::Sync(error)),
        }
    }

    /// Runs `work` like [`SqliteStore::with_write_connection`], but its
    /// commits do not wait for the disk (`synchronous = NORMAL` for this call
    /// only: the WAL is written but not synced, and SQLite stays consistent
    /// after a power loss). The caller makes them durable with
    /// [`SqliteStore::sync_write_ahead_log`], after releasing the writer lock,
    /// before acknowledging anything they wrote.
    pub fn with_write_connection_before_sync<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_write_connection_kept_if(|connection| {
            if let Err(error) = connection.execute_batch("PRAGMA synchronous = NORMAL") {
                return (Err(error.into()), false);
            }
            let result = work(connection);
            // The commits of `work` stand whether or not the setting comes
            // back; a connection that kept `NORMAL` is not used again.
            let restored = connection.execute_batch("PRAGMA synchronous = FULL").is_ok();
            let keep = restored && result.is_ok();
            (result, keep)
        })
    }

    /// Runs `work` with a pooled connection.
    pub fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connections.get(|| self.connect())?;
        work(&mut connection)
    }
}

fn apply_migrations(connection: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    transaction.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
    )?;
    let applied: i64 =
        transaction.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |row| row.get(0))?;
    crate::migrations::announce_upgrade(applied, migrations);
    for migration in migrations.iter().filter(|migration| migration.version > applied) {
        transaction.execute_batch(migration.sql)?;
        transaction.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
            params![migration.version],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

fn create_indexes(connection: &Connection) -> Result<(), StoreError> {
    for statement in PERSON_INDEXES {
        connection.execute_batch(statement)?;
    }
    Ok(())
}

/// The registry's indexes on SQLite: the unique index on the record id, then
/// the lookup indexes on the integer keys of migration 7 (see [`lookup_key`]).
const PERSON_INDEXES: [&str; 4] = [
    "CREATE UNIQUE INDEX IF NOT EXISTS person_by_id ON person (id)",
    "CREATE INDEX IF NOT EXISTS person_by_cic ON person (cic_key)",
    "CREATE INDEX IF NOT EXISTS person_by_ocr ON person (ocr_key)",
    "CREATE INDEX IF NOT EXISTS person_by_clave ON person (clave_key)",
];

/// The integer lookup key of a blind index: its first 7 bytes, big-endian
/// (always positive). SQLite sorts integer keys faster than blobs when it
/// builds an index; lookups compare the key, then the whole blind index.
/// Migration 7 computes the same value in SQL for rows stored before it.
fn lookup_key(index: &BlindIndex) -> i64 {
    let mut bytes = [0u8; 8];
    bytes[1..].copy_from_slice(&index[..7]);
    i64::from_be_bytes(bytes)
}

/// A query for one person's row, by the condition `$condition`.
macro_rules! select_person_where {
    ($condition:literal) => {
        concat!(
            "SELECT id, data_key_id, index_key_id, cic_idx, ocr_idx, clave_idx, emission_idx, given_names_idx, ",
            "first_surname_idx, second_surname_idx, birth_date_idx, status, content_digest, sealed FROM person WHERE ",
            $condition,
            " LIMIT 1"
        )
    };
}

const SELECT_PERSON_BY_ID: &str = select_person_where!("id = ?1");
const SELECT_PERSON_BY_CIC: &str = select_person_where!("cic_key = ?2 AND cic_idx = ?1");
const SELECT_PERSON_BY_OCR: &str = select_person_where!("ocr_key = ?2 AND ocr_idx = ?1");
const SELECT_PERSON_BY_CLAVE: &str = select_person_where!("clave_key = ?2 AND clave_idx = ?1");

const UPSERT_PERSON: &str = "INSERT INTO person (id, data_key_id, index_key_id, cic_idx, ocr_idx, clave_idx, \
     emission_idx, given_names_idx, first_surname_idx, second_surname_idx, birth_date_idx, status, content_digest, \
     sealed, updated_at_ms, cic_key, ocr_key, clave_key) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
     ON CONFLICT (id) DO UPDATE SET data_key_id = excluded.data_key_id, index_key_id = excluded.index_key_id, \
     cic_idx = excluded.cic_idx, ocr_idx = excluded.ocr_idx, clave_idx = excluded.clave_idx, \
     cic_key = excluded.cic_key, ocr_key = excluded.ocr_key, clave_key = excluded.clave_key, \
     emission_idx = excluded.emission_idx, given_names_idx = excluded.given_names_idx, \
     first_surname_idx = excluded.first_surname_idx, second_surname_idx = excluded.second_surname_idx, \
     birth_date_idx = excluded.birth_date_idx, status = excluded.status, content_digest = excluded.content_digest, \
     sealed = excluded.sealed, updated_at_ms = excluded.updated_at_ms \
     WHERE person.content_digest <> excluded.content_digest";

const INSERT_PERSON: &str = "INSERT INTO person (id, data_key_id, index_key_id, cic_idx, ocr_idx, clave_idx, \
     emission_idx, given_names_idx, first_surname_idx, second_surname_idx, birth_date_idx, status, content_digest, \
     sealed, updated_at_ms, cic_key, ocr_key, clave_key) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";

fn bind_and_execute(
    statement: &mut rusqlite::CachedStatement<'_>,
    person: &SealedPerson,
    now_unix_millis: u64,
) -> Result<usize, StoreError> {
    Ok(statement.execute(params![
        person.id,
        person.data_key_id,
        person.index_key_id,
        person.indexes.cic,
        person.indexes.ocr,
        person.indexes.clave_elector,
        person.indexes.emission,
        person.indexes.given_names,
        person.indexes.first_surname,
        person.indexes.second_surname,
        person.indexes.birth_date,
        person.status,
        person.content_digest,
        person.sealed,
        now_unix_millis as i64,
        lookup_key(&person.indexes.cic),
        lookup_key(&person.indexes.ocr),
        lookup_key(&person.indexes.clave_elector),
    ])?)
}

fn person_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SealedPerson> {
    Ok(SealedPerson {
        id: row.get(0)?,
        data_key_id: row.get(1)?,
        index_key_id: row.get(2)?,
        indexes: PersonIndexes {
            cic: row.get(3)?,
            ocr: row.get(4)?,
            clave_elector: row.get(5)?,
            emission: row.get(6)?,
            given_names: row.get(7)?,
            first_surname: row.get(8)?,
            second_surname: row.get(9)?,
            birth_date: row.get(10)?,
        },
        status: row.get(11)?,
        content_digest: row.get(12)?,
        sealed: row.get(13)?,
    })
}

impl RegistryStore for SqliteStore {
    fn upsert_people(&self, people: &[SealedPerson], now_unix_millis: u64) -> Result<UpsertOutcome, StoreError> {
        self.with_write_connection(|connection| {
            let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut outcome = UpsertOutcome::default();
            {
                let mut statement = transaction.prepare_cached(UPSERT_PERSON)?;
                // Sorted by id, consecutive rows land on neighbouring index pages.
                let mut ordered: Vec<&SealedPerson> = people.iter().collect();
                ordered.sort_by_key(|person| person.id);
                for person in ordered {
                    let changed = bind_and_execute(&mut statement, person, now_unix_millis)?;
                    if changed == 0 {
                        outcome.unchanged += 1;
                    } else {
                        outcome.written += 1;
                    }
                }
            }
            transaction.commit()?;
            Ok(outcome)
        })
    }

    fn find_person(&self, lookup: PersonLookup, index: &BlindIndex) -> Result<Option<SealedPerson>, StoreError> {
        let (sql, key) = match lookup {
            PersonLookup::Curp => (SELECT_PERSON_BY_ID, None),
            PersonLookup::Cic => (SELECT_PERSON_BY_CIC, Some(lookup_key(index))),
            PersonLookup::Ocr => (SELECT_PERSON_BY_OCR, Some(lookup_key(index))),
            PersonLookup::ClaveElector => (SELECT_PERSON_BY_CLAVE, Some(lookup_key(index))),
        };
        self.with_connection(|connection| {
            let mut statement = connection.prepare_cached(sql)?;
            Ok(match key {
                None => statement.query_row(params![index], person_from_row),
                Some(key) => statement.query_row(params![index, key], person_from_row),
            }
            .optional()?)
        })
    }

    fn set_status(&self, id: &PersonId, status: &str, now_unix_millis: u64) -> Result<bool, StoreError> {
        self.with_write_connection(|connection| {
            let changed = connection.execute(
                "UPDATE person SET status = ?1, updated_at_ms = ?2 WHERE id = ?3",
                params![status, now_unix_millis as i64, id],
            )?;
            Ok(changed > 0)
        })
    }

    fn count_people(&self) -> Result<u64, StoreError> {
        self.with_connection(|connection| {
            let count: i64 = connection.query_row("SELECT COUNT(*) FROM person", [], |row| row.get(0))?;
            Ok(count as u64)
        })
    }

    fn begin_bulk_load(&self) -> Result<bool, StoreError> {
        self.with_write_connection(|connection| {
            let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let empty: bool =
                transaction.query_row("SELECT NOT EXISTS (SELECT 1 FROM person)", [], |row| row.get(0))?;
            if empty {
                for name in PERSON_INDEX_NAMES {
                    transaction.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
                }
            }
            transaction.commit()?;
            if empty {
                // The bulk checkpointer restarts the WAL from its beginning
                // as a server's does: the appends then overwrite pages the
                // operating system already holds, instead of growing the file
                // by partial pages it zeroes first (about a tenth of an
                // import's CPU time), and the WAL stays small.
                let mut checkpointer = self.bulk_checkpointer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if checkpointer.is_none() {
                    *checkpointer = BackgroundCheckpointer::start(
                        self.connect()?,
                        self.path.clone(),
                        Some((self.writer.clone(), self.bulk_load_restart_frames)),
                    );
                }
            }
            Ok(empty)
        })
    }

    fn insert_people_bulk(&self, people: &[SealedPerson], now_unix_millis: u64) -> Result<u64, StoreError> {
        self.with_write_connection(|connection| {
            // No automatic checkpoint while appending (each would copy the WAL
            // into the database and wait for the disk in this thread: the
            // bulk checkpointer does it in the background), and no sync per
            // batch: the load is made durable by the synchronous commits of
            // the index builds in `finish_bulk_load`. Should the checkpointer
            // fall behind, the WAL is checkpointed here past BULK_LOAD_WAL_LIMIT.
            connection.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = NORMAL;")?;
            let appended = (|| {
                let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                {
                    let mut statement = transaction.prepare_cached(INSERT_PERSON)?;
                    for person in people {
                        bind_and_execute(&mut statement, person, now_unix_millis)?;
                    }
                }
                transaction.commit()?;
                Ok::<_, StoreError>(people.len() as u64)
            })();
            connection.execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}; PRAGMA synchronous = FULL;"
            ))?;
            let wal_bytes = std::fs::metadata(wal_path(&self.path)).map_or(0, |metadata| metadata.len());
            if appended.is_ok() && wal_bytes > BULK_LOAD_WAL_LIMIT {
                connection.execute_batch("PRAGMA wal_checkpoint(RESTART)")?;
            }
            appended
        })
    }

    fn finish_bulk_load(&self) -> Result<(), StoreError> {
        let built = self.with_write_connection(|connection| {
            // SQLite sorts an index's keys in memory-sized runs; with a small
            // budget per run, worker threads sort the runs in parallel and the
            // build is faster than one large single-threaded sort. The index
            // builds commit with a synced WAL, which makes every appended row
            // durable too; the background checkpoints go on meanwhile.
            connection.execute_batch("PRAGMA cache_size = -4096; PRAGMA threads = 4; PRAGMA wal_autocheckpoint = 0;")?;
            let built = create_indexes(connection);
            connection.execute_batch(&format!(
                "PRAGMA cache_size = -262144; PRAGMA threads = 2; PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
            ))?;
            built
        });
        // The checkpointer is stopped without the writer lock held: it takes
        // that lock itself to restart the WAL.
        let checkpointer = self.bulk_checkpointer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(checkpointer) = checkpointer {
            checkpointer.stop();
        }
        built?;
        self.with_write_connection(|connection| Ok(connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")?))
    }
}

/// The WAL size above which a bulk load checkpoints (so that a national-size
/// import does not grow the WAL without bound).
const BULK_LOAD_WAL_LIMIT: u64 = 2 << 30;

/// Frames in the WAL after which a server's background checkpointer restarts
/// the WAL (well under [`WAL_AUTOCHECKPOINT_PAGES`], so that commits do not
/// checkpoint themselves). A restart holds the writers up while it copies and
/// syncs the last commits: 0.6 to 1.7 ms since the checkpointer syncs the
/// database file itself outside the lock (3.5 to 35 ms before). At 64 MB it
/// happens about every 0.6 s at 10,000 verifications/s. A 1 GiB threshold
/// (rarer restarts) was slower: a WAL file that grows costs more per commit
/// and per sync than one that overwrites its own pages.
const WAL_RESTART_FRAMES: i64 = 16384;

/// Pages in the WAL after which an ordinary commit checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 32768;

const _: () = assert!(WAL_RESTART_FRAMES + 2048 < WAL_AUTOCHECKPOINT_PAGES);

fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Frames in the WAL, as a passive checkpoint reports them.
    fn wal_frames(store: &SqliteStore) -> i64 {
        store
            .with_connection(|connection| {
                Ok(connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(1))?)
            })
            .unwrap()
    }

    #[test]
    fn every_write_uses_the_one_write_connection_whatever_the_pool_holds() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("certeza.db")).unwrap();
        // A temporary table exists only on the connection that created it.
        store
            .with_write_connection(|connection| Ok(connection.execute_batch("CREATE TEMP TABLE marker (x)")?))
            .unwrap();
        let sees_marker = |connection: &mut Connection| -> Result<bool, StoreError> {
            Ok(connection.query_row("SELECT COUNT(*) FROM temp.sqlite_master WHERE name = 'marker'", [], |row| {
                row.get::<_, i64>(0)
            })? == 1)
        };
        // While a reader holds the pool's only idle connection (the one the
        // migrations ran on), and another reader a new one, a write still
        // gets the write connection, with its cache and statements.
        let seen = store
            .with_connection(|_reader| {
                store.with_connection(|_another_reader| store.with_write_connection(|writer| sees_marker(writer)))
            })
            .unwrap();
        assert!(seen);
        assert!(!store.with_connection(|reader| sees_marker(reader)).unwrap());
    }

    #[test]
    fn a_write_that_fails_or_panics_leaves_nothing_behind_for_the_next() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("certeza.db")).unwrap();
        // What the next write finds: `synchronous` (2 is FULL), whether a
        // transaction is open, and whether the marker table is there.
        let state = |store: &SqliteStore| {
            store
                .with_write_connection(|connection| {
                    let synchronous: i64 = connection.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
                    let marker: i64 = connection.query_row(
                        "SELECT COUNT(*) FROM temp.sqlite_master WHERE name = 'marker'",
                        [],
                        |row| row.get(0),
                    )?;
                    Ok((synchronous, connection.is_autocommit(), marker))
                })
                .unwrap()
        };
        assert_eq!(state(&store), (2, true, 0));

        // A write that fails inside a transaction it opened, with `NORMAL` set.
        let failed = store.with_write_connection_before_sync(|connection| -> Result<(), StoreError> {
            connection.execute_batch("BEGIN IMMEDIATE; CREATE TEMP TABLE marker (x);")?;
            Err(rusqlite::Error::QueryReturnedNoRows.into())
        });
        assert!(failed.is_err());
        assert_eq!(state(&store), (2, true, 0));
        // Other connections can write: SQLite's write lock was released.
        store
            .with_connection(|connection| {
                Ok(connection.execute("INSERT INTO lease (name, holder, expires_at_ms) VALUES ('t', 'h', 0)", [])?)
            })
            .unwrap();

        // A write that panics with `NORMAL` set.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.with_write_connection_before_sync(|connection| -> Result<(), StoreError> {
                connection.execute_batch("CREATE TEMP TABLE marker (x)")?;
                panic!("a writer's bug")
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(state(&store), (2, true, 0));
    }

    #[test]
    fn a_servers_background_checkpoints_keep_the_wal_small() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("certeza.db")).unwrap();
        // The server's threshold (WAL_RESTART_FRAMES) scaled down, so that a
        // test writes a few times as much without taking long.
        let restart_frames = 2048;
        store.start_background_checkpoints_restarting_at(restart_frames).unwrap();
        // About 24 MB of log entries, a few times restart_frames pages, in
        // commits paced like a server's group commits.
        let entry = vec![b'x'; 3000];
        for _ in 0..2000 {
            std::thread::sleep(std::time::Duration::from_micros(500));
            store
                .with_write_connection(|connection| {
                    let transaction = connection.transaction()?;
                    for _ in 0..4 {
                        transaction.execute(
                            "INSERT INTO log_pending (leaf_hash, data, queued_at_ms, promised_by_ms) VALUES (?1, ?2, 0, 0)",
                            params![vec![0u8; 32], entry],
                        )?;
                    }
                    transaction.commit()?;
                    Ok(())
                })
                .unwrap();
        }
        // The checkpointer restarted the WAL from its beginning whenever it
        // held restart_frames frames: it never grew to the size at which a
        // commit checkpoints by itself (WAL_AUTOCHECKPOINT_PAGES).
        let most_frames = restart_frames + 2048;
        let wal_bytes = std::fs::metadata(wal_path(&directory.path().join("certeza.db"))).unwrap().len();
        assert!(wal_bytes < 32 + most_frames as u64 * (4096 + 24), "the WAL grew to {wal_bytes} bytes");
        assert!(wal_frames(&store) < most_frames);
        let count: i64 = store
            .with_connection(|connection| {
                Ok(connection.query_row("SELECT COUNT(*) FROM log_pending", [], |row| row.get(0))?)
            })
            .unwrap();
        assert_eq!(count, 8000, "nothing is lost by restarting the WAL");
    }

    fn sealed_person(number: u32) -> SealedPerson {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&number.to_be_bytes());
        SealedPerson {
            id,
            data_key_id: "data-1".to_owned(),
            index_key_id: "index-1".to_owned(),
            indexes: PersonIndexes {
                cic: id,
                ocr: id,
                clave_elector: id,
                emission: id,
                given_names: id,
                first_surname: id,
                second_surname: id,
                birth_date: id,
            },
            status: "vigente".to_owned(),
            content_digest: [0u8; 32],
            sealed: vec![0x5a; 1000],
        }
    }

    #[test]
    fn a_bulk_loads_checkpointer_keeps_the_wal_small_and_loses_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&directory.path().join("certeza.db")).unwrap();
        // WAL_RESTART_FRAMES scaled down, as in the server's test above.
        let restart_frames = 256;
        store.bulk_load_restart_frames = restart_frames;
        assert!(store.begin_bulk_load().unwrap());
        // About 12 MB of rows, many times restart_frames pages, in batches
        // of about 80 pages, paced so that the checkpointer (every 100 ms)
        // runs between them.
        let batches = 40;
        let batch_rows = 300;
        for batch in 0..batches {
            let people: Vec<SealedPerson> =
                (0..batch_rows).map(|row| sealed_person(batch * batch_rows + row)).collect();
            assert_eq!(store.insert_people_bulk(&people, 1).unwrap(), u64::from(batch_rows));
            std::thread::sleep(std::time::Duration::from_millis(60));
        }
        store.finish_bulk_load().unwrap();
        let wal_bytes = std::fs::metadata(wal_path(&directory.path().join("certeza.db"))).unwrap().len();
        let most_frames = restart_frames as u64 + 4 * 100;
        assert!(wal_bytes < 32 + most_frames * (4096 + 24), "the WAL grew to {wal_bytes} bytes");
        assert_eq!(store.count_people().unwrap(), u64::from(batches * batch_rows));
        let last = sealed_person(batches * batch_rows - 1);
        let found = store.find_person(PersonLookup::Cic, &last.indexes.cic).unwrap().unwrap();
        assert_eq!(found.sealed, last.sealed);
    }

    /// Rows stored before migration 7 get, from its SQL, the same lookup keys
    /// as `lookup_key` gives new rows, and are found by them.
    #[test]
    fn migration_7_gives_rows_already_stored_their_lookup_keys() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("certeza.db");
        let people: Vec<SealedPerson> = [0x00u8, 0x7f, 0x80, 0xff]
            .iter()
            .enumerate()
            .map(|(number, high)| {
                let mut person = sealed_person(number as u32);
                person.indexes.cic = [*high; 16];
                person.indexes.ocr =
                    std::array::from_fn(|position| high.wrapping_add((position as u8).wrapping_mul(37)));
                person.indexes.clave_elector = std::array::from_fn(|position| high ^ (position as u8).wrapping_mul(91));
                person
            })
            .collect();
        {
            let mut connection = Connection::open(&path).unwrap();
            apply_migrations(&mut connection, &crate::migrations::SQLITE[..6]).unwrap();
            for person in &people {
                connection
                    .execute(
                        "INSERT INTO person (id, data_key_id, index_key_id, cic_idx, ocr_idx, clave_idx, emission_idx, \
                         given_names_idx, first_surname_idx, second_surname_idx, birth_date_idx, status, \
                         content_digest, sealed, updated_at_ms) \
                         VALUES (?1, 'd', 'i', ?2, ?3, ?4, ?1, ?1, ?1, ?1, ?1, 'vigente', ?5, ?6, 1)",
                        params![
                            person.id,
                            person.indexes.cic,
                            person.indexes.ocr,
                            person.indexes.clave_elector,
                            person.content_digest,
                            person.sealed
                        ],
                    )
                    .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        for person in &people {
            let keys: (i64, i64, i64) = store
                .with_connection(|connection| {
                    Ok(connection.query_row(
                        "SELECT cic_key, ocr_key, clave_key FROM person WHERE id = ?1",
                        params![person.id],
                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                    )?)
                })
                .unwrap();
            let expected = (
                lookup_key(&person.indexes.cic),
                lookup_key(&person.indexes.ocr),
                lookup_key(&person.indexes.clave_elector),
            );
            assert_eq!(keys, expected);
            for (lookup, index) in [
                (PersonLookup::Cic, &person.indexes.cic),
                (PersonLookup::Ocr, &person.indexes.ocr),
                (PersonLookup::ClaveElector, &person.indexes.clave_elector),
            ] {
                assert_eq!(store.find_person(lookup, index).unwrap().unwrap().id, person.id);
            }
        }
        assert_eq!(lookup_key(&[0xff; 16]), 0x00ff_ffff_ffff_ffff);
    }

    /// Lookups search the integer-key indexes, never the whole table.
    #[test]
    fn lookups_use_the_lookup_key_indexes() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("certeza.db")).unwrap();
        for (sql, index) in [
            (SELECT_PERSON_BY_ID, "person_by_id"),
            (SELECT_PERSON_BY_CIC, "person_by_cic"),
            (SELECT_PERSON_BY_OCR, "person_by_ocr"),
            (SELECT_PERSON_BY_CLAVE, "person_by_clave"),
        ] {
            let plan: String = store
                .with_connection(|connection| {
                    let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let plan = if statement.parameter_count() == 1 {
                        statement.query_row(params![[0u8; 16]], |row| row.get(3))
                    } else {
                        statement.query_row(params![[0u8; 16], 1], |row| row.get(3))
                    };
                    Ok(plan?)
                })
                .unwrap();
            assert!(plan.contains(&format!("USING INDEX {index}")), "{sql}: {plan}");
        }
    }

    #[test]
    fn syncing_the_wal_works_with_and_without_one() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("certeza.db")).unwrap();
        store.sync_write_ahead_log().unwrap();
        std::fs::remove_file(wal_path(&directory.path().join("certeza.db"))).ok();
        store.sync_write_ahead_log().unwrap();
    }
}
