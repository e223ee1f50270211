//! Storage for Certeza: the traits the rest of the system uses, and two
//! backends behind them.
//!
//! * [`sqlite::SqliteStore`] — the embedded default, one file in the data
//!   directory, WAL mode. Nothing to install.
//! * [`postgres::PostgresStore`] — PostgreSQL (and compatible engines) for
//!   several server instances sharing one database.
//!
//! [`Store::open`] picks the backend from the database URL's scheme; an unknown
//! scheme or an unreachable database is an error, never a silent fallback.
//!
//! Migrations are embedded, one folder per dialect (`migrations/sqlite`,
//! `migrations/postgres`), applied in order and recorded in `schema_migrations`.
//! A landed migration is never edited; changes come as new files.
//!
//! The registry stores people only in sealed form ([`SealedPerson`]); the
//! mapping between a clear [`certeza_core::Person`] and its sealed row lives in
//! [`registry`], so no backend ever sees personal data in clear.
#![forbid(unsafe_code)]

pub mod citizen;
pub mod log;
mod migrations;
mod pool;
pub mod postgres;
pub mod registry;
pub mod sqlite;
pub mod verification;

use certeza_crypto::BlindIndex;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a scheme no backend understands.
    #[error("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://…")]
    UnsupportedScheme {
        /// The scheme that was given.
        scheme: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot connect to the database at {url}: {reason}")]
    Unreachable {
        /// The URL with any password removed.
        url: String,
        /// Why the connection failed.
        reason: String,
    },
    /// A SQLite operation failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL operation failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// Syncing the database's files to disk failed.
    #[error("syncing the database to disk: {0}")]
    Sync(#[from] std::io::Error),
    /// A sealed row could not be opened or is inconsistent.
    #[error("a stored record is corrupt: {0}")]
    CorruptRecord(&'static str),
    /// Sealing or opening failed.
    #[error(transparent)]
    Crypto(#[from] certeza_crypto::CryptoError),
    /// A transparency-log rule was broken (bad entry, inconsistent tree, …).
    #[error("transparency log: {0}")]
    Log(#[from] certeza_log::Error),
    /// A synchronous log submission was not integrated in time; it stays
    /// queued and will still be integrated.
    #[error("log entry {pending_id} was queued but not integrated in time")]
    LogTimeout {
        /// The pending id, to fetch the receipt later.
        pending_id: u64,
    },
}

/// The unique key of a person: the blind index of the CURP.
pub type PersonId = BlindIndex;

/// A person as stored: blind indexes for every field that is compared, sealed
/// values for everything, and no clear personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedPerson {
    /// Blind index of the CURP; also the record id bound into every seal.
    pub id: PersonId,
    /// The id of the data key that sealed the fields.
    pub data_key_id: String,
    /// The id of the blind-index key.
    pub index_key_id: String,
    /// Blind indexes of the credential and identity fields.
    pub indexes: PersonIndexes,
    /// The credential status (`vigente`, `reported_lost`, …); not personal data.
    pub status: String,
    /// Keyed digest of the clear content, so re-importing the same row writes nothing.
    pub content_digest: [u8; 32],
    /// The sealed fields, length-prefixed, in [`registry::SEALED_FIELDS`] order.
    pub sealed: Vec<u8>,
}

/// Blind indexes of one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonIndexes {
    /// CIC (9 digits on the back of the voter credential).
    pub cic: BlindIndex,
    /// OCR (13 digits on the back of older voter credentials).
    pub ocr: BlindIndex,
    /// Clave de elector.
    pub clave_elector: BlindIndex,
    /// Emission number.
    pub emission: BlindIndex,
    /// Given names, normalised.
    pub given_names: BlindIndex,
    /// First surname, normalised.
    pub first_surname: BlindIndex,
    /// Second surname, normalised.
    pub second_surname: BlindIndex,
    /// Birth date (YYYY-MM-DD).
    pub birth_date: BlindIndex,
}

/// The field a person is looked up by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonLookup {
    /// By the blind index of the CURP (the record id).
    Curp,
    /// By the blind index of the CIC.
    Cic,
    /// By the blind index of the OCR.
    Ocr,
    /// By the blind index of the clave de elector.
    ClaveElector,
}

/// What one batch upsert did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// Rows inserted or changed.
    pub written: u64,
    /// Rows already stored with the same content.
    pub unchanged: u64,
}

/// The registry of people, in sealed form.
pub trait RegistryStore: Send + Sync {
    /// Inserts new people and updates changed ones (keyed by CURP), in one
    /// transaction. Rows whose content digest is unchanged are not written.
    fn upsert_people(&self, people: &[SealedPerson], now_unix_millis: u64) -> Result<UpsertOutcome, StoreError>;

    /// Finds one person by a blind index.
    fn find_person(&self, lookup: PersonLookup, index: &BlindIndex) -> Result<Option<SealedPerson>, StoreError>;

    /// Finds several people at once: for each lookup, in order, what
    /// [`RegistryStore::find_person`] would find. A network database answers
    /// them in one round trip per kind of lookup.
    fn find_people(&self, lookups: &[(PersonLookup, BlindIndex)]) -> Result<Vec<Option<SealedPerson>>, StoreError> {
        lookups.iter().map(|(lookup, index)| self.find_person(*lookup, index)).collect()
    }

    /// Sets the credential status of a person; returns false when no such person exists.
    fn set_status(&self, id: &PersonId, status: &str, now_unix_millis: u64) -> Result<bool, StoreError>;

    /// Counts the people in the registry.
    fn count_people(&self) -> Result<u64, StoreError>;

    /// Prepares for a large import. When the registry is empty, its indexes
    /// are dropped so that they are built once, by sorting, in
    /// [`RegistryStore::finish_bulk_load`], instead of row by row, and the
    /// rows can be appended with [`RegistryStore::insert_people_bulk`].
    /// Returns whether that happened. Opening a store always recreates missing
    /// indexes, so an import that dies in between leaves nothing broken.
    fn begin_bulk_load(&self) -> Result<bool, StoreError>;

    /// Appends people to a registry prepared by [`RegistryStore::begin_bulk_load`].
    /// The caller guarantees that no id repeats (the unique index is rebuilt
    /// at the end and would refuse a repeat).
    fn insert_people_bulk(&self, people: &[SealedPerson], now_unix_millis: u64) -> Result<u64, StoreError>;

    /// Recreates every index dropped by [`RegistryStore::begin_bulk_load`].
    fn finish_bulk_load(&self) -> Result<(), StoreError>;
}

/// The indexes of the registry on PostgreSQL: the unique index on the record
/// id first, then the lookup indexes (SQLite's lookup indexes are on integer
/// keys instead, `sqlite::PERSON_INDEXES`; the names are the same).
pub(crate) const PERSON_INDEXES: [&str; 4] = [
    "CREATE UNIQUE INDEX IF NOT EXISTS person_by_id ON person (id)",
    "CREATE INDEX IF NOT EXISTS person_by_cic ON person (cic_idx)",
    "CREATE INDEX IF NOT EXISTS person_by_ocr ON person (ocr_idx)",
    "CREATE INDEX IF NOT EXISTS person_by_clave ON person (clave_idx)",
];

/// The names of the registry's indexes on either backend, for dropping them
/// before a bulk load.
pub(crate) const PERSON_INDEX_NAMES: [&str; 4] = ["person_by_id", "person_by_cic", "person_by_ocr", "person_by_clave"];

/// A store of either backend, chosen by the database URL.
pub enum Store {
    /// The embedded SQLite backend.
    Sqlite(sqlite::SqliteStore),
    /// The PostgreSQL backend.
    Postgres(Box<postgres::PostgresStore>),
}

impl Store {
    /// Opens (and migrates) the database named by `url`: `sqlite://PATH` (a
    /// relative path is relative to the working directory) or
    /// `postgres://…` / `postgresql://…`.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Store::Sqlite(sqlite::SqliteStore::open(std::path::Path::new(path))?));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store::Postgres(Box::new(postgres::PostgresStore::connect(url)?)));
        }
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme).to_owned();
        Err(StoreError::UnsupportedScheme { scheme })
    }

    /// The registry of this store.
    pub fn registry(&self) -> &dyn RegistryStore {
        match self {
            Store::Sqlite(store) => store,
            Store::Postgres(store) => store.as_ref(),
        }
    }

    /// The transparency log's storage in this store.
    pub fn log(&self) -> log::LogStore<'_> {
        log::LogStore::new(self)
    }

    /// Prepares the store for a long-running server: on SQLite, starts the
    /// background checkpoints (see `SqliteStore::start_background_checkpoints`);
    /// on PostgreSQL, nothing.
    pub fn start_background_work(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.start_background_checkpoints(),
            Store::Postgres(_) => Ok(()),
        }
    }

    /// A short name of the backend, for messages.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }
}

/// Removes the password from a database URL so it can appear in messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(authority, path)| (authority, path));
    let Some((user_info, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
    let slash = if rest.contains('/') { "/" } else { "" };
    let path_without_query = path.split_once('?').map_or(path, |(path, _)| path);
    format!("{scheme}://{user}:***@{host}{slash}{path_without_query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_hide_passwords() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/certeza"), "postgres://app:***@db:5432/certeza");
        assert_eq!(redact_url("postgres://db/certeza"), "postgres://db/certeza");
    }

    #[test]
    fn unknown_scheme_is_a_clear_error() {
        let Err(error) = Store::open("mysql://localhost/x") else { panic!("mysql must be refused") };
        assert!(error.to_string().contains("\"mysql\""), "{error}");
    }
}
