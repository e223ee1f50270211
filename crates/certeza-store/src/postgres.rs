//! The PostgreSQL backend, for several server instances sharing one database.

use std::collections::HashSet;
use std::time::Duration;

use certeza_crypto::BlindIndex;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls};

use crate::migrations::{Migration, POSTGRES};
use crate::pool::Pool;
use crate::{
    PERSON_INDEX_NAMES, PERSON_INDEXES, PersonId, PersonIndexes, PersonLookup, RegistryStore, SealedPerson, StoreError,
    UpsertOutcome, redact_url,
};

/// A PostgreSQL database with a small pool of connections.
pub struct PostgresStore {
    config: postgres::Config,
    shown_url: String,
    connections: Pool<PooledClient>,
}

/// A connection with the statements prepared on it so far (a statement is
/// parsed and planned once per connection instead of once per query).
struct PooledClient {
    client: Client,
    prepared: std::collections::HashMap<String, postgres::Statement>,
}

impl PostgresStore {
    /// Connects to `url`, checks the connection and applies pending migrations.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let shown_url = redact_url(url);
        let mut config: postgres::Config = url.parse().map_err(|error: postgres::Error| StoreError::Unreachable {
            url: shown_url.clone(),
            reason: error.to_string(),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let store = Self { config, shown_url, connections: Pool::bounded(32, Duration::from_secs(5)) };
        let mut client = store.new_client()?;
        apply_migrations(&mut client, POSTGRES)?;
        create_indexes(&mut client)?;
        store.connections.put(PooledClient { client, prepared: std::collections::HashMap::new() });
        Ok(store)
    }

    fn new_client(&self) -> Result<Client, StoreError> {
        self.config
            .connect(NoTls)
            .map_err(|error| StoreError::Unreachable { url: self.shown_url.clone(), reason: error.to_string() })
    }

    /// Runs `work` with a pooled client; a client that failed is not reused.
    pub fn with_client<T>(&self, work: impl FnOnce(&mut Client) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.with_pooled(|pooled| work(&mut pooled.client))
    }

    /// Runs `work` with a pooled client and `sql` prepared on it (once per
    /// connection).
    fn with_prepared<T>(
        &self,
        sql: &str,
        work: impl FnOnce(&mut Client, &postgres::Statement) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_pooled(|pooled| {
            let statement = match pooled.prepared.get(sql) {
                Some(statement) => statement.clone(),
                None => {
                    let statement = pooled.client.prepare(sql)?;
                    pooled.prepared.insert(sql.to_owned(), statement.clone());
                    statement
                }
            };
            let result = work(&mut pooled.client, &statement);
            if result.is_err() {
                // A statement whose plan went stale (a changed column type)
                // fails every time: prepare it afresh next time.
                pooled.prepared.remove(sql);
            }
            result
        })
    }

    fn with_pooled<T>(&self, work: impl FnOnce(&mut PooledClient) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut pooled = self.connections.get(|| {
            self.new_client().map(|client| PooledClient { client, prepared: std::collections::HashMap::new() })
        })?;
        let result = work(&mut pooled);
        if result.is_err() && pooled.client.is_closed() {
            pooled.discard();
        }
        result
    }
}

fn apply_migrations(client: &mut Client, migrations: &[Migration]) -> Result<(), StoreError> {
    let mut transaction = client.transaction()?;
    // Several instances may start at once; the advisory lock serialises them.
    transaction.execute("SELECT pg_advisory_xact_lock(7284001)", &[])?;
    transaction.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at_ms BIGINT NOT NULL)",
    )?;
    let applied: i64 = transaction.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0);
    crate::migrations::announce_upgrade(applied, migrations);
    for migration in migrations.iter().filter(|migration| migration.version > applied) {
        transaction.batch_execute(migration.sql)?;
        transaction.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) \
             VALUES ($1, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)",
            &[&migration.version],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

fn create_indexes(client: &mut Client) -> Result<(), StoreError> {
    for statement in PERSON_INDEXES {
        client.batch_execute(statement)?;
    }
    Ok(())
}

const PERSON_COLUMNS: &str = "id, data_key_id, index_key_id, cic_idx, ocr_idx, clave_idx, emission_idx, \
     given_names_idx, first_surname_idx, second_surname_idx, birth_date_idx, status, content_digest, sealed";

const COPY_TYPES: [Type; 15] = [
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::BYTEA,
    Type::TEXT,
    Type::BYTEA,
    Type::BYTEA,
    Type::INT8,
];

fn write_copy_rows(
    writer: &mut BinaryCopyInWriter<'_>,
    people: &[SealedPerson],
    now_unix_millis: u64,
) -> Result<(), StoreError> {
    let updated_at = now_unix_millis as i64;
    for person in people {
        writer.write(&[
            &&person.id[..],
            &person.data_key_id,
            &person.index_key_id,
            &&person.indexes.cic[..],
            &&person.indexes.ocr[..],
            &&person.indexes.clave_elector[..],
            &&person.indexes.emission[..],
            &&person.indexes.given_names[..],
            &&person.indexes.first_surname[..],
            &&person.indexes.second_surname[..],
            &&person.indexes.birth_date[..],
            &person.status,
            &&person.content_digest[..],
            &person.sealed,
            &updated_at,
        ])?;
    }
    Ok(())
}

/// The column a lookup compares.
fn lookup_column(lookup: PersonLookup) -> &'static str {
    match lookup {
        PersonLookup::Curp => "id",
        PersonLookup::Cic => "cic_idx",
        PersonLookup::Ocr => "ocr_idx",
        PersonLookup::ClaveElector => "clave_idx",
    }
}

fn blind_index(bytes: Vec<u8>) -> Result<BlindIndex, StoreError> {
    bytes.try_into().map_err(|_| StoreError::CorruptRecord("a blind index has the wrong length"))
}

fn person_from_row(row: &postgres::Row) -> Result<SealedPerson, StoreError> {
    Ok(SealedPerson {
        id: blind_index(row.try_get(0)?)?,
        data_key_id: row.try_get(1)?,
        index_key_id: row.try_get(2)?,
        indexes: PersonIndexes {
            cic: blind_index(row.try_get(3)?)?,
            ocr: blind_index(row.try_get(4)?)?,
            clave_elector: blind_index(row.try_get(5)?)?,
            emission: blind_index(row.try_get(6)?)?,
            given_names: blind_index(row.try_get(7)?)?,
            first_surname: blind_index(row.try_get(8)?)?,
            second_surname: blind_index(row.try_get(9)?)?,
            birth_date: blind_index(row.try_get(10)?)?,
        },
        status: row.try_get(11)?,
        content_digest: row
            .try_get::<_, Vec<u8>>(12)?
            .try_into()
            .map_err(|_| StoreError::CorruptRecord("a content digest has the wrong length"))?,
        sealed: row.try_get(13)?,
    })
}

/// Splits `people` into runs without a repeated id, because one PostgreSQL
/// `INSERT … ON CONFLICT` statement may not touch the same row twice.
fn runs_without_repeated_ids(people: &[SealedPerson]) -> Vec<&[SealedPerson]> {
    let mut runs = Vec::new();
    let mut seen = HashSet::new();
    let mut start = 0;
    for (position, person) in people.iter().enumerate() {
        if !seen.insert(person.id) {
            runs.push(&people[start..position]);
            seen.clear();
            seen.insert(person.id);
            start = position;
        }
    }
    runs.push(&people[start..]);
    runs
}

impl RegistryStore for PostgresStore {
    fn upsert_people(&self, people: &[SealedPerson], now_unix_millis: u64) -> Result<UpsertOutcome, StoreError> {
        if people.is_empty() {
            return Ok(UpsertOutcome::default());
        }
        self.with_client(|client| {
            let mut transaction = client.transaction()?;
            transaction
                .batch_execute("CREATE TEMP TABLE IF NOT EXISTS person_incoming (LIKE person) ON COMMIT DELETE ROWS")?;
            let mut written = 0u64;
            for run in runs_without_repeated_ids(people) {
                let sink = transaction
                    .copy_in(&format!("COPY person_incoming ({PERSON_COLUMNS}, updated_at_ms) FROM STDIN BINARY"))?;
                let mut writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
                write_copy_rows(&mut writer, run, now_unix_millis)?;
                writer.finish()?;
                written += transaction.execute(
                    &format!(
                        "INSERT INTO person ({PERSON_COLUMNS}, updated_at_ms) \
                         SELECT {PERSON_COLUMNS}, updated_at_ms FROM person_incoming \
                         ON CONFLICT (id) DO UPDATE SET data_key_id = excluded.data_key_id, \
                         index_key_id = excluded.index_key_id, cic_idx = excluded.cic_idx, ocr_idx = excluded.ocr_idx, \
                         clave_idx = excluded.clave_idx, emission_idx = excluded.emission_idx, \
                         given_names_idx = excluded.given_names_idx, first_surname_idx = excluded.first_surname_idx, \
                         second_surname_idx = excluded.second_surname_idx, birth_date_idx = excluded.birth_date_idx, \
                         status = excluded.status, content_digest = excluded.content_digest, sealed = excluded.sealed, \
                         updated_at_ms = excluded.updated_at_ms \
                         WHERE person.content_digest <> excluded.content_digest"
                    ),
                    &[],
                )?;
                transaction.batch_execute("TRUNCATE person_incoming")?;
            }
            transaction.commit()?;
            Ok(UpsertOutcome { written, unchanged: people.len() as u64 - written })
        })
    }

    fn find_person(&self, lookup: PersonLookup, index: &BlindIndex) -> Result<Option<SealedPerson>, StoreError> {
        let column = lookup_column(lookup);
        let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE {column} = $1 LIMIT 1");
        self.with_prepared(&sql, |client, statement| match client.query_opt(statement, &[&&index[..]])? {
            Some(row) => Ok(Some(person_from_row(&row)?)),
            None => Ok(None),
        })
    }

    fn find_people(&self, lookups: &[(PersonLookup, BlindIndex)]) -> Result<Vec<Option<SealedPerson>>, StoreError> {
        let mut found = vec![None; lookups.len()];
        for kind in [PersonLookup::Curp, PersonLookup::Cic, PersonLookup::Ocr, PersonLookup::ClaveElector] {
            let column = lookup_column(kind);
            let keys: Vec<&[u8]> =
                lookups.iter().filter(|(lookup, _)| *lookup == kind).map(|(_, index)| &index[..]).collect();
            if keys.is_empty() {
                continue;
            }
            let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE {column} = ANY($1)");
            let rows = self.with_prepared(&sql, |client, statement| Ok(client.query(statement, &[&keys])?))?;
            let mut by_key: std::collections::HashMap<BlindIndex, SealedPerson> = std::collections::HashMap::new();
            for row in &rows {
                let person = person_from_row(row)?;
                let key = match kind {
                    PersonLookup::Curp => person.id,
                    PersonLookup::Cic => person.indexes.cic,
                    PersonLookup::Ocr => person.indexes.ocr,
                    PersonLookup::ClaveElector => person.indexes.clave_elector,
                };
                by_key.entry(key).or_insert(person);
            }
            for ((lookup, index), slot) in lookups.iter().zip(found.iter_mut()) {
                if *lookup == kind {
                    *slot = by_key.get(index).cloned();
                }
            }
        }
        Ok(found)
    }

    fn set_status(&self, id: &PersonId, status: &str, now_unix_millis: u64) -> Result<bool, StoreError> {
        self.with_client(|client| {
            let changed = client.execute(
                "UPDATE person SET status = $1, updated_at_ms = $2 WHERE id = $3",
                &[&status, &(now_unix_millis as i64), &&id[..]],
            )?;
            Ok(changed > 0)
        })
    }

    fn count_people(&self) -> Result<u64, StoreError> {
        self.with_client(|client| {
            let count: i64 = client.query_one("SELECT COUNT(*) FROM person", &[])?.get(0);
            Ok(count as u64)
        })
    }

    fn begin_bulk_load(&self) -> Result<bool, StoreError> {
        self.with_client(|client| {
            let mut transaction = client.transaction()?;
            transaction.execute("LOCK TABLE person IN SHARE ROW EXCLUSIVE MODE", &[])?;
            let empty: bool = transaction.query_one("SELECT NOT EXISTS (SELECT 1 FROM person)", &[])?.get(0);
            if empty {
                for name in PERSON_INDEX_NAMES {
                    transaction.batch_execute(&format!("DROP INDEX IF EXISTS {name}"))?;
                }
            }
            transaction.commit()?;
            Ok(empty)
        })
    }

    fn insert_people_bulk(&self, people: &[SealedPerson], now_unix_millis: u64) -> Result<u64, StoreError> {
        self.with_client(|client| {
            let mut transaction = client.transaction()?;
            let sink =
                transaction.copy_in(&format!("COPY person ({PERSON_COLUMNS}, updated_at_ms) FROM STDIN BINARY"))?;
            let mut writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
            write_copy_rows(&mut writer, people, now_unix_millis)?;
            writer.finish()?;
            transaction.commit()?;
            Ok(people.len() as u64)
        })
    }

    fn finish_bulk_load(&self) -> Result<(), StoreError> {
        self.with_client(create_indexes)
    }
}
