//! `certeza registry import`: a streaming, parallel import of a population CSV.
//!
//! The reader (this thread) parses and validates rows and rejects bad ones with
//! their line number and reason; sealing workers seal good rows in batches; one
//! writer upserts the sealed batches. Memory stays bounded by the channel
//! capacities, whatever the size of the file, except for the duplicate
//! detector, which keeps 16 bytes per distinct CURP seen.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, RandomState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use certeza_core::{PERSON_CSV_HEADER, Person};
use certeza_store::registry::PersonSealer;
use certeza_store::{RegistryStore, SealedPerson, UpsertOutcome};

/// Rows per sealed batch (one database transaction each).
const BATCH_ROWS: usize = 8192;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Data rows read (the header excluded).
    pub rows_read: u64,
    /// Rows inserted or changed.
    pub written: u64,
    /// Rows already present with the same content.
    pub unchanged: u64,
    /// Rows rejected (listed in the rejects file).
    pub rejected: u64,
    /// The rejects file, when there were rejects.
    pub rejects_file: Option<PathBuf>,
    /// Wall-clock time of the import.
    pub elapsed: Duration,
}

impl ImportSummary {
    /// Rows handled per second (read rows over elapsed time).
    pub fn rows_per_second(&self) -> f64 {
        self.rows_read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Receives progress reports from the import.
pub trait ImportProgress {
    /// Called after every batch with the bytes read so far and the rows read.
    fn update(&self, bytes_read: u64, rows_read: u64);
}

/// The default rejects file for an input: `people.csv` → `people.rejects.csv`.
pub fn default_rejects_path(input: &Path) -> PathBuf {
    let stem = input.file_stem().map_or_else(|| "import".into(), |stem| stem.to_string_lossy().into_owned());
    input.with_file_name(format!("{stem}.rejects.csv"))
}

/// Imports `input` (a population CSV with the documented header) into `registry`.
pub fn import_population(
    registry: &dyn RegistryStore,
    sealer: &PersonSealer,
    input: impl Read,
    rejects_path: &Path,
    now_unix_millis: u64,
    progress: &dyn ImportProgress,
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).context("reading the header row")? {
        bail!("the file is empty: expected the header row {}", PERSON_CSV_HEADER.join(","));
    }
    let header: Vec<&[u8]> = record.iter().collect();
    let expected: Vec<&[u8]> = PERSON_CSV_HEADER.iter().map(|column| column.as_bytes()).collect();
    let header_without_bom: Vec<&[u8]> = header
        .iter()
        .enumerate()
        .map(
            |(position, column)| {
                if position == 0 { column.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(column) } else { column }
            },
        )
        .collect();
    if header_without_bom != expected {
        bail!("the first row is not the expected header: {}", PERSON_CSV_HEADER.join(","));
    }

    let mut rejects = RejectsWriter::new(rejects_path);
    let worker_count = std::thread::available_parallelism().map_or(1, |count| count.get()).clamp(1, 8);
    let (to_seal, sealing_queue) = sync_channel::<Vec<Person>>(worker_count * 2);
    let sealing_queue = Arc::new(Mutex::new(sealing_queue));
    let (to_write, writing_queue) = sync_channel::<Vec<SealedPerson>>(worker_count * 2);

    let mut summary = ImportSummary::default();
    let bulk = registry.begin_bulk_load().context("preparing the registry for the import")?;
    let outcome = std::thread::scope(|scope| -> anyhow::Result<UpsertOutcome> {
        let writer = std::thread::Builder::new()
            .name("import-writer".to_owned())
            .spawn_scoped(scope, move || write_batches(registry, writing_queue, now_unix_millis, bulk))
            .context("starting the writer thread")?;
        for _ in 0..worker_count {
            let queue = Arc::clone(&sealing_queue);
            let to_write = to_write.clone();
            std::thread::Builder::new()
                .name("import-sealer".to_owned())
                .spawn_scoped(scope, move || seal_batches(sealer, &queue, &to_write))
                .context("starting a sealing thread")?;
        }
        drop(to_write);

        let read_result = read_rows(&mut reader, &mut record, &to_seal, &mut rejects, &mut summary, progress);
        drop(to_seal);
        let written = writer.join().map_err(|_| anyhow::anyhow!("the database writer thread panicked"))?;
        read_result?;
        written
    });
    let rows_done = started.elapsed();
    // The indexes come back whether or not the import succeeded.
    registry.finish_bulk_load().context("rebuilding the registry's indexes")?;
    tracing::debug!(
        rows_seconds = rows_done.as_secs_f64(),
        total_seconds = started.elapsed().as_secs_f64(),
        "import phases"
    );
    let outcome = outcome?;
    summary.written = outcome.written;
    summary.unchanged = outcome.unchanged;
    summary.rejected = rejects.count;
    summary.rejects_file = rejects.finish()?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn read_rows<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    to_seal: &SyncSender<Vec<Person>>,
    rejects: &mut RejectsWriter,
    summary: &mut ImportSummary,
    progress: &dyn ImportProgress,
) -> anyhow::Result<()> {
    let hasher = RandomState::new();
    let mut first_line_of_curp: HashMap<u128, u64> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                // A CSV syntax error affects one record; report it and go on.
                if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                    return Err(error).context("reading the input file");
                }
                summary.rows_read += 1;
                rejects.reject(line, "the row is not well-formed CSV")?;
                continue;
            }
        }
        summary.rows_read += 1;
        let line = record.position().map_or(line, csv::Position::line);
        let mut fields: Vec<&str> = Vec::with_capacity(PERSON_CSV_HEADER.len());
        let mut non_utf8_column = None;
        for (position, bytes) in record.iter().enumerate() {
            match std::str::from_utf8(bytes) {
                Ok(text) => fields.push(text),
                Err(_) => {
                    non_utf8_column = Some(position);
                    break;
                }
            }
        }
        if let Some(position) = non_utf8_column {
            let column = PERSON_CSV_HEADER.get(position).copied().unwrap_or("an extra column");
            rejects.reject(line, &format!("column {column} is not valid UTF-8"))?;
            continue;
        }
        let person = match Person::from_csv_fields(&fields) {
            Ok(person) => person,
            Err(error) => {
                rejects.reject(line, &error.to_string())?;
                continue;
            }
        };
        let fingerprint = {
            let low = hasher.hash_one(person.curp.as_str()) as u128;
            let high = hasher.hash_one((person.curp.as_str(), 1u8)) as u128;
            (high << 64) | low
        };
        match first_line_of_curp.entry(fingerprint) {
            Entry::Occupied(first) => {
                rejects.reject(line, &format!("duplicate CURP: the same CURP is on line {}", first.get()))?;
                continue;
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        batch.push(person);
        if batch.len() == BATCH_ROWS {
            if to_seal.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS))).is_err() {
                // The writer stopped; its error is reported by the caller.
                return Ok(());
            }
            progress.update(reader.position().byte(), summary.rows_read);
        }
    }
    if !batch.is_empty() {
        let _ = to_seal.send(batch);
    }
    progress.update(reader.position().byte(), summary.rows_read);
    Ok(())
}

fn seal_batches(sealer: &PersonSealer, queue: &Mutex<Receiver<Vec<Person>>>, to_write: &SyncSender<Vec<SealedPerson>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
        let Ok(batch) = next else { return };
        let sealed: Vec<SealedPerson> = batch.iter().map(|person| sealer.seal(person)).collect();
        if to_write.send(sealed).is_err() {
            return;
        }
    }
}

fn write_batches(
    registry: &dyn RegistryStore,
    queue: Receiver<Vec<SealedPerson>>,
    now_unix_millis: u64,
    bulk: bool,
) -> anyhow::Result<UpsertOutcome> {
    let mut total = UpsertOutcome::default();
    for batch in queue {
        let outcome = if bulk {
            // The registry was empty and the reader drops repeated CURPs, so
            // every row is new: append without per-row index maintenance.
            let written = registry.insert_people_bulk(&batch, now_unix_millis);
            written.map(|written| UpsertOutcome { written, unchanged: 0 })
        } else {
            registry.upsert_people(&batch, now_unix_millis)
        }
        .context("writing a batch to the database")?;
        total.written += outcome.written;
        total.unchanged += outcome.unchanged;
    }
    Ok(total)
}

/// Writes `line,reason` rows; the file is created at the first reject.
struct RejectsWriter {
    path: PathBuf,
    writer: Option<csv::Writer<std::fs::File>>,
    count: u64,
}

impl RejectsWriter {
    fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), writer: None, count: 0 }
    }

    fn reject(&mut self, line: u64, reason: &str) -> anyhow::Result<()> {
        if self.writer.is_none() {
            let mut writer = csv::Writer::from_path(&self.path)
                .with_context(|| format!("creating the rejects file {}", self.path.display()))?;
            writer.write_record(["line", "reason"])?;
            self.writer = Some(writer);
        }
        if let Some(writer) = &mut self.writer {
            writer.write_record([line.to_string().as_str(), reason])?;
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> anyhow::Result<Option<PathBuf>> {
        match self.writer {
            Some(mut writer) => {
                writer.flush().context("writing the rejects file")?;
                Ok(Some(self.path))
            }
            None => {
                // A rejects file left by an earlier run would now be misleading.
                match std::fs::remove_file(&self.path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error).context("removing an old rejects file"),
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use certeza_core::PopulationGenerator;
    use certeza_crypto::KeyDirectory;
    use certeza_store::{PersonLookup, Store};
    use proptest::prelude::*;

    struct Silent;
    impl ImportProgress for Silent {
        fn update(&self, _bytes_read: u64, _rows_read: u64) {}
    }

    fn population_csv(people: &[Person]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(PERSON_CSV_HEADER).unwrap();
        for person in people {
            writer.write_record(person.to_csv_fields()).unwrap();
        }
        writer.into_inner().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Generated people go through a real CSV file and a real database
        /// and come back exactly as they were.
        #[test]
        fn generated_people_round_trip_through_csv_and_the_registry(seed in any::<u64>(), count in 1usize..120) {
            let directory = tempfile::tempdir().unwrap();
            let keys = KeyDirectory::new(directory.path().join("keys"));
            keys.ensure_all(1).unwrap();
            let sealer = PersonSealer::new(&keys.load().unwrap()).unwrap();
            let store = Store::open(&format!("sqlite://{}", directory.path().join("db").display())).unwrap();
            let people: Vec<Person> = PopulationGenerator::new(seed).take(count).collect();
            let summary = import_population(
                store.registry(),
                &sealer,
                population_csv(&people).as_slice(),
                &directory.path().join("rejects.csv"),
                1,
                &Silent,
            )
            .unwrap();
            prop_assert_eq!(summary.written, count as u64);
            prop_assert_eq!(summary.rejected, 0);
            for person in &people {
                let sealed = store.registry().find_person(PersonLookup::Curp, &sealer.person_id(&person.curp)).unwrap().unwrap();
                prop_assert_eq!(&sealer.open(&sealed).unwrap(), person);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_importer() {
        let directory = tempfile::tempdir().unwrap();
        let keys = KeyDirectory::new(directory.path().join("keys"));
        keys.ensure_all(1).unwrap();
        let sealer = PersonSealer::new(&keys.load().unwrap()).unwrap();
        let store = Store::open(&format!("sqlite://{}", directory.path().join("db").display())).unwrap();
        let header = PERSON_CSV_HEADER.join(",");
        proptest!(ProptestConfig::with_cases(64), |(garbage in proptest::collection::vec(any::<u8>(), 0..2000))| {
            let mut input = header.clone().into_bytes();
            input.push(b'\n');
            input.extend_from_slice(&garbage);
            let summary = import_population(store.registry(), &sealer, input.as_slice(), &directory.path().join("r.csv"), 1, &Silent).unwrap();
            prop_assert_eq!(summary.written + summary.unchanged + summary.rejected, summary.rows_read);
        });
    }
}
