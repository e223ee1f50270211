//! The transparency log's storage and sequencer, told as one story per
//! concern. Every story runs on SQLite always, and on PostgreSQL when
//! `CERTEZA_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certeza_core::{Clock, SystemClock};
use certeza_log::Hash;
use certeza_log::checkpoint::Checkpoint;
use certeza_log::entry::{LogEntry, subject_commitment};
use certeza_log::merkle::{check_record, hash_leaf, prove_record, verify_consistency};
use certeza_log::note::{NoteSigner, NoteVerifier, Verifier, open_note};
use certeza_log::proof::verify_receipt;
use certeza_log::sequencer::{
    IntegrateOutcome, Integration, IntegrationSignal, LEASE_NAME, LeaseClaim, LogStorage, PendingEntry, Promise,
    Sequencer, SequencerConfig, SignedCheckpoint, StepOutcome, TileStore,
};
use certeza_log::tile::{Tile, TileHashReader, TileReader, parse_entry_bundle_for_tile, tiles_for_size};
use certeza_store::log::{FsTileStore, LogStore, PendingStatus, StoreTransaction};
use certeza_store::{Store, StoreError};

const ORIGIN: &str = "certeza.test/log";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [9; 32]).unwrap()
}

fn config(holder: &str, max_batch: usize, lease_ttl_millis: u64) -> SequencerConfig {
    SequencerConfig { max_batch, lease_ttl_millis, ..SequencerConfig::new(ORIGIN, holder) }
}

fn entry(i: u64) -> Vec<u8> {
    LogEntry {
        v: 1,
        kind: "verification".to_owned(),
        time_unix_millis: 1_700_000_000_000 + i,
        actor: "rp-banco-ejemplo".to_owned(),
        purpose: "apertura de cuenta".to_owned(),
        subject_commitment: Some(subject_commitment(&i.to_be_bytes(), &[7; 16])),
        details_hash: None,
    }
    .encode()
    .unwrap()
}

use super::ThrowawayPostgres;

/// Runs `story` on SQLite, then on PostgreSQL if configured. The story gets
/// the database URL and a scratch directory.
fn on_every_backend(story: impl Fn(&str, &Path)) {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("certeza.db").display());
    story(&url, directory.path());
    if let Some(database) = ThrowawayPostgres::create() {
        let directory = tempfile::tempdir().unwrap();
        story(&database.url, directory.path());
    }
}

/// Serves tiles from a filesystem tile store, as an auditor over HTTP would.
struct FileTiles<'a>(&'a FsTileStore);

impl TileReader for FileTiles<'_> {
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, certeza_log::Error> {
        tiles.iter().map(|t| self.0.get(&t.path())?.ok_or(certeza_log::Error::TileRead(t.path()))).collect()
    }
}

/// Audits the published files like an outside client: the checkpoint's
/// signature, every leaf hash through authenticated tiles, every bundle.
fn audit_published(tiles: &FsTileStore, expected: &[Vec<u8>]) {
    let verifier = signer().verifier();
    let note = tiles.get("checkpoint").unwrap().unwrap();
    let opened = open_note(&note, &[&verifier as &dyn Verifier]).unwrap();
    let checkpoint = Checkpoint::parse(&opened.text).unwrap();
    assert_eq!(checkpoint.origin, ORIGIN);
    assert_eq!(checkpoint.size, expected.len() as u64);
    let reader = TileHashReader::new(checkpoint.size, checkpoint.root, FileTiles(tiles)).unwrap();
    // Proofs through tiles are slow in debug builds, so a sample of leaves
    // (every tile, both edges) is proven; every bundle is compared in full.
    let sample = expected.iter().enumerate().filter(|(i, _)| i % 97 == 0 || i + 1 == expected.len());
    for (i, data) in sample {
        let proof = prove_record(checkpoint.size, i as u64, &reader).unwrap();
        check_record(&proof, checkpoint.size, &checkpoint.root, i as u64, &hash_leaf(data)).unwrap();
    }
    for tile in tiles_for_size(0, checkpoint.size).into_iter().filter(|t| t.level() == 0) {
        let bundle = tiles.get(&tile.entries_path()).unwrap().unwrap();
        let entries = parse_entry_bundle_for_tile(&tile, &bundle).unwrap();
        let start = usize::try_from(tile.index() * 256).unwrap();
        for (offset, got) in entries.iter().enumerate() {
            assert_eq!(*got, expected[start + offset].as_slice());
        }
    }
}

/// Checks that every stored checkpoint is signed, and consistent with the
/// next one and with the latest, using proofs computed from the database.
fn audit_checkpoints(log: LogStore<'_>) -> Vec<SignedCheckpoint> {
    let verifier = signer().verifier();
    let latest = log.latest_checkpoint().unwrap().unwrap();
    let all = log.checkpoints(0, u64::MAX >> 2, 1_000_000).unwrap();
    assert_eq!(all.last(), Some(&latest));
    for c in &all {
        let opened = open_note(c.note.as_bytes(), &[&verifier as &dyn Verifier]).unwrap();
        let parsed = Checkpoint::parse(&opened.text).unwrap();
        assert_eq!((parsed.size, parsed.root), (c.size, c.root));
    }
    for pair in all.windows(2).filter(|pair| pair[0].size > 0) {
        assert!(pair[0].size < pair[1].size);
        for to in [&pair[1], &latest] {
            let proof = log.consistency_proof(pair[0].size, to.size).unwrap();
            verify_consistency(pair[0].size, to.size, &proof, &pair[0].root, &to.root).unwrap();
        }
    }
    all
}

fn integrate_everything<S: LogStorage, T: TileStore>(sequencer: &mut Sequencer<S, T>, now: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    loop {
        match sequencer.step(now).unwrap() {
            StepOutcome::Integrated { new_size, .. } => sizes.push(new_size),
            StepOutcome::Idle { .. } => return sizes,
            other => panic!("unexpected step outcome {other:?}"),
        }
    }
}

#[test]
fn batches_are_signed_consistent_published_and_proven() {
    on_every_backend(|url, directory| {
        let store = Store::open(url).unwrap();
        let log = store.log();
        let tiles = FsTileStore::new(directory.join("log"));
        let mut sequencer = Sequencer::new(log, &tiles, signer(), config("a", 300, 10_000)).unwrap();

        // The first step signs the empty tree, so readers always find a checkpoint.
        assert_eq!(sequencer.step(1_000).unwrap(), StepOutcome::Integrated { old_size: 0, new_size: 0 });
        assert_eq!(log.latest_checkpoint().unwrap().unwrap().size, 0);
        assert_eq!(sequencer.step(1_001).unwrap(), StepOutcome::Idle { size: 0 });

        let data: Vec<Vec<u8>> = (0..1000).map(entry).collect();
        let queued: Vec<_> = data.iter().map(|d| log.enqueue(d, 2_000, 60_000).unwrap()).collect();
        assert_eq!(log.pending_count().unwrap(), 1000);
        assert_eq!(integrate_everything(&mut sequencer, 3_000), [300, 600, 900, 1000]);
        assert_eq!(log.pending_count().unwrap(), 0);
        assert_eq!(log.entries(0, 1000).unwrap(), data);

        let checkpoints = audit_checkpoints(log);
        assert_eq!(checkpoints.iter().map(|c| c.size).collect::<Vec<_>>(), [0, 300, 600, 900, 1000]);
        audit_published(&tiles, &data);

        // Receipts verify offline, and readers find entries by pending id.
        let verifier = signer().verifier();
        for i in [0usize, 1, 299, 300, 511, 999] {
            let receipt = log.receipt_for_pending(queued[i].pending_id).unwrap().unwrap();
            assert_eq!(receipt.index, i as u64);
            let parsed = certeza_log::proof::Receipt::parse(receipt.encode().unwrap().as_bytes()).unwrap();
            verify_receipt(&parsed, ORIGIN, &hash_leaf(&data[i]), &[&verifier], &[]).unwrap();
            assert_eq!(
                log.pending_status(queued[i].pending_id).unwrap(),
                PendingStatus::Integrated { index: i as u64, integrated_at_unix_millis: 3_000 }
            );
        }
        assert!(log.receipt(1000).unwrap().is_none());
        assert_eq!(log.pending_status(1_000_000).unwrap(), PendingStatus::Unknown);
        assert!(log.enqueue(&[], 1, 1).is_err());
        assert!(log.enqueue(&vec![0; 70_000], 1, 1).is_err());
    });
}

#[test]
fn synchronous_appends_return_receipts_only_after_commit() {
    on_every_backend(|url, directory| {
        let store = Store::open(url).unwrap();
        let log = store.log();
        let tiles = FsTileStore::new(directory.join("log"));
        let signal = Arc::new(IntegrationSignal::new());
        let stop = AtomicBool::new(false);
        let verifier = signer().verifier();
        let indexes = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            let sequencer = scope.spawn(|| {
                let mut sequencer = Sequencer::new(log, &tiles, signer(), config("a", 64, 10_000))
                    .unwrap()
                    .with_signal(Arc::clone(&signal));
                sequencer.run(&|| SystemClock.now_unix_millis(), Duration::from_millis(5), &stop).unwrap();
            });
            let submitters: Vec<_> = (0..4u64)
                .map(|t| {
                    let (signal, verifier, indexes) = (&signal, &verifier, &indexes);
                    scope.spawn(move || {
                        for i in 0..15 {
                            let data = entry(t * 1000 + i);
                            let now = SystemClock.now_unix_millis();
                            let receipt =
                                log.append_and_wait(&data, now, Duration::from_secs(5), Some(signal)).unwrap();
                            verify_receipt(&receipt, ORIGIN, &hash_leaf(&data), &[verifier], &[]).unwrap();
                            // The acknowledged entry is durable: its bytes are in the log.
                            assert_eq!(log.entries(receipt.index, receipt.index + 1).unwrap(), [data]);
                            indexes.lock().unwrap().push(receipt.index);
                        }
                    })
                })
                .collect();
            for submitter in submitters {
                submitter.join().unwrap();
            }
            stop.store(true, Ordering::SeqCst);
            sequencer.join().unwrap();
        });
        let mut indexes = indexes.into_inner().unwrap();
        indexes.sort_unstable();
        assert_eq!(indexes, (0..60).collect::<Vec<u64>>());
        // The sequencer released its lease on the way out.
        assert_eq!(log.lease_holder(LEASE_NAME, SystemClock.now_unix_millis()).unwrap(), None);
        audit_checkpoints(log);

        // Without a running sequencer the caller times out, and the entry stays queued.
        let Err(StoreError::LogTimeout { pending_id }) =
            log.append_and_wait(&entry(5), 1, Duration::from_millis(30), None)
        else {
            panic!("expected a timeout")
        };
        assert!(matches!(log.pending_status(pending_id).unwrap(), PendingStatus::Pending { .. }));
    });
}

/// Creates the caller's own table, in the caller's own dialect.
fn create_caller_table(log: LogStore<'_>) {
    log.with_transaction(|tx| {
        match tx {
            StoreTransaction::Sqlite(tx) => {
                tx.execute_batch("CREATE TABLE verification_demo (id TEXT PRIMARY KEY, pending_id INTEGER)")?
            }
            StoreTransaction::Postgres(tx) => {
                tx.batch_execute("CREATE TABLE verification_demo (id TEXT PRIMARY KEY, pending_id BIGINT)")?
            }
        }
        Ok(())
    })
    .unwrap();
}

fn insert_caller_row(tx: &mut StoreTransaction<'_, '_>, id: &str, pending_id: u64) -> Result<(), StoreError> {
    let pending_id = i64::try_from(pending_id).unwrap();
    match tx {
        StoreTransaction::Sqlite(tx) => {
            tx.execute("INSERT INTO verification_demo (id, pending_id) VALUES (?1, ?2)", (id, pending_id))?;
        }
        StoreTransaction::Postgres(tx) => {
            tx.execute("INSERT INTO verification_demo (id, pending_id) VALUES ($1, $2)", &[&id, &pending_id])?;
        }
    }
    Ok(())
}

fn caller_rows(log: LogStore<'_>) -> u64 {
    log.with_transaction(|tx| {
        Ok(match tx {
            StoreTransaction::Sqlite(tx) => {
                tx.query_row("SELECT COUNT(*) FROM verification_demo", [], |row| row.get::<_, i64>(0))?
            }
            StoreTransaction::Postgres(tx) => {
                tx.query_one("SELECT COUNT(*) FROM verification_demo", &[])?.get::<_, i64>(0)
            }
        })
    })
    .unwrap() as u64
}

#[test]
fn queued_entries_commit_with_the_callers_rows_and_are_integrated_within_the_merge_delay() {
    on_every_backend(|url, directory| {
        let store = Store::open(url).unwrap();
        let log = store.log();
        create_caller_table(log);
        let signer = signer();
        let verifier: NoteVerifier = signer.verifier();

        // Committed together: the caller's row and the pending entry.
        let data = entry(1);
        let queued = log
            .with_transaction(|tx| {
                let queued = tx.enqueue_log_entry(&data, 10_000, 1_000)?;
                insert_caller_row(tx, "v-1", queued.pending_id)?;
                Ok(queued)
            })
            .unwrap();
        assert_eq!(queued.promised_by_unix_millis, 11_000);
        let promise_note = queued.promise(ORIGIN).sign(&signer).unwrap();
        let promise = Promise::open(promise_note.as_bytes(), ORIGIN, &verifier).unwrap();
        assert_eq!(promise.leaf_hash, hash_leaf(&data));

        // Rolled back together: a failing caller leaves neither behind.
        let mut lost_id = None;
        let failed: Result<(), StoreError> = log.with_transaction(|tx| {
            let queued = tx.enqueue_log_entry(&entry(2), 10_000, 1_000)?;
            lost_id = Some(queued.pending_id);
            insert_caller_row(tx, "v-1", queued.pending_id)?; // A duplicate key: the caller fails.
            Ok(())
        });
        assert!(failed.is_err());
        assert_eq!(log.pending_status(lost_id.unwrap()).unwrap(), PendingStatus::Unknown);
        assert_eq!(caller_rows(log), 1);
        assert_eq!(log.pending_count().unwrap(), 1);

        // Traffic arrives every 50 ms; the sequencer steps every 100 ms with
        // small batches. Every entry must be integrated by its promise.
        let tiles = FsTileStore::new(directory.join("log"));
        let mut sequencer = Sequencer::new(log, &tiles, signer, config("a", 64, 10_000)).unwrap();
        let mut promises = vec![(queued, data)];
        let mut now = 10_000u64;
        for tick in 0..40u64 {
            now += 50;
            for i in 0..15 {
                let data = entry(10_000 + tick * 100 + i);
                let queued = log.enqueue(&data, now, 1_000).unwrap();
                promises.push((queued, data));
            }
            if tick % 2 == 1 {
                while let StepOutcome::Integrated { old_size, new_size } = sequencer.step(now).unwrap() {
                    if new_size - old_size < 64 {
                        break;
                    }
                }
            }
        }
        integrate_everything(&mut sequencer, now + 100);
        for (queued, data) in &promises {
            let PendingStatus::Integrated { index, integrated_at_unix_millis } =
                log.pending_status(queued.pending_id).unwrap()
            else {
                panic!("entry {} was not integrated", queued.pending_id)
            };
            assert!(integrated_at_unix_millis <= queued.promised_by_unix_millis, "merge delay exceeded");
            if index % 41 != 0 {
                continue; // Receipts of a sample are verified (signatures are slow in debug builds).
            }
            let receipt = log.receipt_for_pending(queued.pending_id).unwrap().unwrap();
            assert_eq!(receipt.index, index);
            verify_receipt(&receipt, ORIGIN, &hash_leaf(data), &[&verifier], &[]).unwrap();
        }
        assert_eq!(log.latest_checkpoint().unwrap().unwrap().size, promises.len() as u64);
        audit_checkpoints(log);
    });
}

#[test]
fn an_expired_lease_holder_can_never_write() {
    on_every_backend(|url, _| {
        let first = Store::open(url).unwrap();
        let second = Store::open(url).unwrap();
        let (a, b) = (first.log(), second.log());
        assert!(a.acquire_lease(LEASE_NAME, "a", 0, 1_000).unwrap());
        assert!(a.acquire_lease(LEASE_NAME, "a", 500, 1_000).unwrap()); // Renewed until 1500.
        assert!(!b.acquire_lease(LEASE_NAME, "b", 1_400, 1_000).unwrap());
        assert_eq!(b.lease_holder(LEASE_NAME, 1_400).unwrap().as_deref(), Some("a"));
        assert!(b.acquire_lease(LEASE_NAME, "b", 1_500, 1_000).unwrap());

        // A still believes its lease runs (its clock says 1200), but the
        // integrate transaction re-checks the lease row and refuses.
        b.enqueue(&entry(1), 1, 1_000).unwrap();
        let claim = LeaseClaim { name: LEASE_NAME, holder: "a", now_unix_millis: 1_200 };
        let outcome = LogStorage::integrate(&a, &claim, 10, |_: Option<&SignedCheckpoint>, _: Vec<PendingEntry>| {
            panic!("a stale holder must not even be asked to build a batch")
        })
        .unwrap();
        assert_eq!(outcome, IntegrateOutcome::LeaseNotHeld);

        // A stale sequencer object steps into NotLeader and writes nothing.
        let directory = tempfile::tempdir().unwrap();
        let tiles = FsTileStore::new(directory.path());
        let mut stale = Sequencer::new(a, &tiles, signer(), config("a", 10, 1_000)).unwrap();
        assert_eq!(stale.step(1_600).unwrap(), StepOutcome::NotLeader);
        assert!(a.latest_checkpoint().unwrap().is_none());
        let mut leader = Sequencer::new(b, &tiles, signer(), config("b", 10, 1_000)).unwrap();
        assert_eq!(leader.step(1_600).unwrap(), StepOutcome::Integrated { old_size: 0, new_size: 1 });

        // Releasing hands over at once; only the holder can release.
        b.release_lease(LEASE_NAME, "a").unwrap();
        assert_eq!(a.lease_holder(LEASE_NAME, 1_700).unwrap().as_deref(), Some("b"));
        leader.release().unwrap();
        assert_eq!(stale.step(1_700).unwrap(), StepOutcome::Idle { size: 1 });
    });
}

#[test]
fn two_sequencers_on_one_database_never_duplicate_lose_or_fork() {
    on_every_backend(|url, directory| {
        let first = Store::open(url).unwrap();
        let second = Store::open(url).unwrap();
        let tiles = FsTileStore::new(directory.join("log"));
        let total = 1200u64;
        let produced = AtomicU32::new(0);
        let stop = AtomicBool::new(false);
        let integrated_by = Mutex::new([0u64; 2]);
        let now = || SystemClock.now_unix_millis();
        std::thread::scope(|scope| {
            for (n, store) in [&first, &second].into_iter().enumerate() {
                let (tiles, stop, integrated_by, produced) = (&tiles, &stop, &integrated_by, &produced);
                scope.spawn(move || {
                    let holder = if n == 0 { "instance-a" } else { "instance-b" };
                    let mut sequencer = Sequencer::new(store.log(), tiles, signer(), config(holder, 50, 150)).unwrap();
                    while !stop.load(Ordering::SeqCst) {
                        if let StepOutcome::Integrated { old_size, new_size } = sequencer.step(now()).unwrap() {
                            integrated_by.lock().unwrap()[n] += new_size - old_size;
                        }
                        std::thread::sleep(Duration::from_millis(2));
                        // The first leader "crashes" once a third of the entries
                        // are produced, without releasing its lease.
                        if produced.load(Ordering::SeqCst) as u64 >= total / 3 && integrated_by.lock().unwrap()[n] > 0 {
                            let [a, b] = *integrated_by.lock().unwrap();
                            if a == 0 || b == 0 {
                                return;
                            }
                        }
                    }
                });
            }
            for producer in 0..3u64 {
                let (first, second, produced) = (&first, &second, &produced);
                scope.spawn(move || {
                    for i in 0..total / 3 {
                        let store = if i % 2 == 0 { first } else { second };
                        store.log().enqueue(&entry(producer * 100_000 + i), now(), 60_000).unwrap();
                        produced.fetch_add(1, Ordering::SeqCst);
                        if i % 50 == 0 {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                });
            }
            // Wait until everything is integrated, then stop the survivor.
            let deadline = std::time::Instant::now() + Duration::from_secs(8);
            while first.log().latest_checkpoint().unwrap().map_or(0, |c| c.size) < total {
                assert!(std::time::Instant::now() < deadline, "the log did not catch up");
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.store(true, Ordering::SeqCst);
        });
        let [a, b] = *integrated_by.lock().unwrap();
        assert!(a > 0 && b > 0, "both instances led at some point ({a} and {b})");
        assert_eq!(a + b, total);

        let log = first.log();
        assert_eq!(log.pending_count().unwrap(), 0);
        let entries = log.entries(0, total).unwrap();
        let distinct: HashSet<&Vec<u8>> = entries.iter().collect();
        assert_eq!(distinct.len() as u64, total, "an entry was duplicated");
        let expected: HashSet<Vec<u8>> =
            (0..3u64).flat_map(|p| (0..total / 3).map(move |i| entry(p * 100_000 + i))).collect();
        assert_eq!(entries.iter().cloned().collect::<HashSet<_>>(), expected, "an entry was lost");
        audit_checkpoints(log);
        audit_published(&tiles, &entries);
    });
}

/// Storage that dies between signing and committing, as a killed process would.
struct CrashBeforeCommit<S>(S);

impl<S: LogStorage<Error = StoreError>> LogStorage for CrashBeforeCommit<S> {
    type Error = StoreError;
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        self.0.latest_checkpoint()
    }
    fn read_stored_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        self.0.read_stored_hashes(indexes)
    }
    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.0.read_entries(start, end)
    }
    fn acquire_lease(&self, claim: &LeaseClaim<'_>, ttl: u64) -> Result<bool, StoreError> {
        self.0.acquire_lease(claim, ttl)
    }
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.0.release_lease(name, holder)
    }
    fn integrate<F>(&self, lease: &LeaseClaim<'_>, max: usize, build: F) -> Result<IntegrateOutcome, StoreError>
    where
        F: FnOnce(Option<&SignedCheckpoint>, Vec<PendingEntry>) -> Result<Option<Integration>, certeza_log::Error>,
    {
        self.0.integrate(lease, max, |head, pending| {
            build(head, pending)?;
            Err(certeza_log::Error::Storage("killed before commit".to_owned()))
        })
    }
}

#[test]
fn a_restarted_sequencer_loses_nothing_and_republishes_tiles() {
    on_every_backend(|url, directory| {
        let tiles = FsTileStore::new(directory.join("log"));
        let data: Vec<Vec<u8>> = (0..700).map(entry).collect();
        {
            let store = Store::open(url).unwrap();
            let log = store.log();
            let mut sequencer = Sequencer::new(log, &tiles, signer(), config("before", 200, 5_000)).unwrap();
            for d in &data[..400] {
                log.enqueue(d, 1_000, 60_000).unwrap();
            }
            assert_eq!(integrate_everything(&mut sequencer, 1_000), [200, 400]);
            for d in &data[400..] {
                log.enqueue(d, 1_100, 60_000).unwrap();
            }
            // The process dies after signing a batch but before its commit.
            let mut dying =
                Sequencer::new(CrashBeforeCommit(log), &tiles, signer(), config("before", 200, 5_000)).unwrap();
            assert!(dying.step(1_200).is_err());
            assert_eq!(log.latest_checkpoint().unwrap().unwrap().size, 400);
            assert_eq!(log.pending_count().unwrap(), 300);
            // Dropped without releasing the lease, like a killed process.
        }
        // Tiles are derived data: lose some of them, and the checkpoint.
        std::fs::remove_file(directory.join("log/checkpoint")).unwrap();
        std::fs::remove_dir_all(directory.join("log/tile/entries")).unwrap();

        let store = Store::open(url).unwrap();
        let log = store.log();
        let mut sequencer = Sequencer::new(log, &tiles, signer(), config("after", 200, 5_000)).unwrap();
        assert_eq!(sequencer.step(2_000).unwrap(), StepOutcome::NotLeader, "the dead lease still runs");
        assert_eq!(integrate_everything(&mut sequencer, 6_300), [600, 700]);
        assert_eq!(log.entries(0, 700).unwrap(), data);
        audit_checkpoints(log);
        audit_published(&tiles, &data);

        // A stored hash on the right edge is tampered with: a new sequencer
        // notices that the stored hashes no longer give the signed root and
        // refuses to sign anything.
        drop(sequencer);
        // The subtree of leaves 0..512 is the first part of 700 = 512 + 128 + 32 + 16 + 8 + 4.
        let index = i64::try_from(certeza_log::merkle::stored_hash_index(9, 0)).unwrap();
        log.with_transaction(|tx| {
            match tx {
                StoreTransaction::Sqlite(tx) => {
                    tx.execute("UPDATE log_hash SET hash = zeroblob(32) WHERE idx = ?1", [index])?;
                }
                StoreTransaction::Postgres(tx) => {
                    tx.execute("UPDATE log_hash SET hash = decode(repeat('00', 32), 'hex') WHERE idx = $1", &[&index])?;
                }
            }
            Ok(())
        })
        .unwrap();
        log.enqueue(&entry(9_999), 7_000, 60_000).unwrap();
        let mut suspicious = Sequencer::new(log, &tiles, signer(), config("after", 200, 5_000)).unwrap();
        let error = suspicious.step(7_000).unwrap_err();
        assert!(error.to_string().contains("reproduce the signed root"), "{error}");
        assert_eq!(log.latest_checkpoint().unwrap().unwrap().size, 700);
    });
}
