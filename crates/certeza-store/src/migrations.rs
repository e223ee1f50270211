//! Embedded migrations, one list per dialect. A landed migration is never edited.

/// A migration: its version number and SQL.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../migrations/sqlite/0001_registry.sql") },
    Migration { version: 2, sql: include_str!("../migrations/sqlite/0002_log.sql") },
    Migration { version: 3, sql: include_str!("../migrations/sqlite/0003_verification.sql") },
    Migration { version: 4, sql: include_str!("../migrations/sqlite/0004_cosignature.sql") },
    Migration { version: 5, sql: include_str!("../migrations/sqlite/0005_citizen.sql") },
    Migration { version: 6, sql: include_str!("../migrations/sqlite/0006_log_without_leaf_index.sql") },
    Migration { version: 7, sql: include_str!("../migrations/sqlite/0007_person_lookup_keys.sql") },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../migrations/postgres/0001_registry.sql") },
    Migration { version: 2, sql: include_str!("../migrations/postgres/0002_log.sql") },
    Migration { version: 3, sql: include_str!("../migrations/postgres/0003_verification.sql") },
    Migration { version: 4, sql: include_str!("../migrations/postgres/0004_cosignature.sql") },
    Migration { version: 5, sql: include_str!("../migrations/postgres/0005_citizen.sql") },
    Migration { version: 6, sql: include_str!("../migrations/postgres/0006_log_without_leaf_index.sql") },
];
