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

/// Says, before an existing database is upgraded, that it is: some
/// migrations rewrite every person (migration 7 of SQLite took 15.6 s for a
/// million), and an operator should not see a silent pause. A new database's
/// migrations are not announced.
pub(crate) fn announce_upgrade(applied: i64, migrations: &[Migration]) {
    if applied == 0 {
        return;
    }
    if let Some(newest) =
        migrations.iter().map(|migration| migration.version).filter(|version| *version > applied).max()
    {
        tracing::info!(
            from_version = applied,
            to_version = newest,
            "upgrading the database schema; on a large registry this can take minutes"
        );
    }
}
