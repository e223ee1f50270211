//! Citizen sign-in storage: one-time codes, sessions, the per-person request
//! log used for rate limiting, and the demo outbox.
//!
//! Nothing stored here is a personal value in clear. People are referenced by
//! their [`PersonId`] (the blind index of the CURP); tokens and codes are
//! stored only as SHA-256 digests; the outbox keeps a masked destination.

use rusqlite::{OptionalExtension, params};

use crate::{PersonId, Store, StoreError};

/// A one-time code to store.
#[derive(Clone, Debug)]
pub struct NewSignInCode {
    /// SHA-256 of the random token kept in the browser's sign-in cookie.
    pub token_sha256: [u8; 32],
    /// The person the code signs in.
    pub person_id: PersonId,
    /// SHA-256(token || code).
    pub code_sha256: [u8; 32],
    /// When the code was issued.
    pub created_at_ms: u64,
    /// When it stops being accepted.
    pub expires_at_ms: u64,
}

/// One attempt at a code, as [`Store::attempt_sign_in_code`] counted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeAttempt {
    /// The person the code signs in.
    pub person_id: PersonId,
    /// SHA-256(token || code) of the code that was sent.
    pub code_sha256: [u8; 32],
    /// The attempts made so far, this one included.
    pub attempts: u32,
}

/// A message the demo outbox "sent".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The id, increasing.
    pub id: i64,
    /// `sms` or `email`.
    pub channel: String,
    /// The masked destination (never the full number or address).
    pub destination: String,
    /// The text of the message.
    pub body: String,
    /// When it was sent.
    pub created_at_ms: u64,
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::CorruptRecord("a number does not fit in 63 bits"))
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::CorruptRecord("a stored number is negative"))
}

fn to_person_id(bytes: &[u8]) -> Result<PersonId, StoreError> {
    bytes.try_into().map_err(|_| StoreError::CorruptRecord("a stored person id has the wrong length"))
}

fn to_hash(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::CorruptRecord("a stored digest has the wrong length"))
}

impl Store {
    /// Records a sign-in request for a person (matched or not) and returns
    /// how many were recorded for that person since `since_ms`, this one
    /// included.
    pub fn record_sign_in_request(&self, person_id: &PersonId, now_ms: u64, since_ms: u64) -> Result<u64, StoreError> {
        let (now, since) = (to_i64(now_ms)?, to_i64(since_ms)?);
        let count: i64 = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                let transaction = connection.transaction()?;
                transaction
                    .prepare_cached("INSERT INTO citizen_request (person_id, requested_at_ms) VALUES (?1, ?2)")?
                    .execute(params![&person_id[..], now])?;
                let count = transaction
                    .prepare_cached(
                        "SELECT COUNT(*) FROM citizen_request WHERE person_id = ?1 AND requested_at_ms >= ?2",
                    )?
                    .query_row(params![&person_id[..], since], |row| row.get(0))?;
                transaction.commit()?;
                Ok(count)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                let mut transaction = client.transaction()?;
                transaction.execute(
                    "INSERT INTO citizen_request (person_id, requested_at_ms) VALUES ($1, $2)",
                    &[&&person_id[..], &now],
                )?;
                let count = transaction
                    .query_one(
                        "SELECT COUNT(*) FROM citizen_request WHERE person_id = $1 AND requested_at_ms >= $2",
                        &[&&person_id[..], &since],
                    )?
                    .try_get(0)?;
                transaction.commit()?;
                Ok(count)
            })?,
        };
        to_u64(count)
    }

    /// Stores a one-time code.
    pub fn add_sign_in_code(&self, code: &NewSignInCode) -> Result<(), StoreError> {
        let (created, expires) = (to_i64(code.created_at_ms)?, to_i64(code.expires_at_ms)?);
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO citizen_code (token_sha256, person_id, code_sha256, created_at_ms, expires_at_ms) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![
                        &code.token_sha256[..],
                        &code.person_id[..],
                        &code.code_sha256[..],
                        created,
                        expires
                    ])?;
                Ok(())
            }),
            Store::Postgres(store) => store.with_client(|client| {
                client.execute(
                    "INSERT INTO citizen_code (token_sha256, person_id, code_sha256, created_at_ms, expires_at_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&&code.token_sha256[..], &&code.person_id[..], &&code.code_sha256[..], &created, &expires],
                )?;
                Ok(())
            }),
        }
    }

    /// Counts one attempt at the code of `token_sha256`, if that code is
    /// still usable (not used, not expired, fewer than `max_attempts`
    /// attempts so far), and returns what the caller needs to check it. The
    /// attempt is counted before the caller compares, so concurrent guesses
    /// cannot exceed the limit.
    pub fn attempt_sign_in_code(
        &self,
        token_sha256: &[u8; 32],
        now_ms: u64,
        max_attempts: u32,
    ) -> Result<Option<CodeAttempt>, StoreError> {
        let now = to_i64(now_ms)?;
        let max = i64::from(max_attempts);
        let row: Option<(Vec<u8>, Vec<u8>, i64)> = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                Ok(connection
                    .prepare_cached(
                        "UPDATE citizen_code SET attempts = attempts + 1 WHERE token_sha256 = ?1 \
                         AND used_at_ms IS NULL AND expires_at_ms > ?2 AND attempts < ?3 \
                         RETURNING person_id, code_sha256, attempts",
                    )?
                    .query_row(params![&token_sha256[..], now, max], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                    .optional()?)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                client
                    .query_opt(
                        "UPDATE citizen_code SET attempts = attempts + 1 WHERE token_sha256 = $1 \
                         AND used_at_ms IS NULL AND expires_at_ms > $2 AND attempts < $3 \
                         RETURNING person_id, code_sha256, attempts",
                        &[&&token_sha256[..], &now, &max],
                    )?
                    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                    .transpose()
            })?,
        };
        row.map(|(person_id, code_sha256, attempts)| {
            Ok(CodeAttempt {
                person_id: to_person_id(&person_id)?,
                code_sha256: to_hash(&code_sha256)?,
                attempts: u32::try_from(attempts).map_err(|_| StoreError::CorruptRecord("attempts out of range"))?,
            })
        })
        .transpose()
    }

    /// Marks the code of `token_sha256` used and opens a session for its
    /// person, in one transaction. Returns false (and opens nothing) when the
    /// code was already used.
    pub fn use_sign_in_code(
        &self,
        token_sha256: &[u8; 32],
        person_id: &PersonId,
        session_token_sha256: &[u8; 32],
        now_ms: u64,
        session_expires_at_ms: u64,
    ) -> Result<bool, StoreError> {
        let (now, expires) = (to_i64(now_ms)?, to_i64(session_expires_at_ms)?);
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                let transaction = connection.transaction()?;
                let used = transaction
                    .prepare_cached(
                        "UPDATE citizen_code SET used_at_ms = ?1 WHERE token_sha256 = ?2 AND used_at_ms IS NULL",
                    )?
                    .execute(params![now, &token_sha256[..]])?;
                if used != 1 {
                    return Ok(false);
                }
                transaction
                    .prepare_cached(
                        "INSERT INTO citizen_session (token_sha256, person_id, created_at_ms, expires_at_ms) \
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![&session_token_sha256[..], &person_id[..], now, expires])?;
                transaction.commit()?;
                Ok(true)
            }),
            Store::Postgres(store) => store.with_client(|client| {
                let mut transaction = client.transaction()?;
                let used = transaction.execute(
                    "UPDATE citizen_code SET used_at_ms = $1 WHERE token_sha256 = $2 AND used_at_ms IS NULL",
                    &[&now, &&token_sha256[..]],
                )?;
                if used != 1 {
                    return Ok(false);
                }
                transaction.execute(
                    "INSERT INTO citizen_session (token_sha256, person_id, created_at_ms, expires_at_ms) \
                     VALUES ($1, $2, $3, $4)",
                    &[&&session_token_sha256[..], &&person_id[..], &now, &expires],
                )?;
                transaction.commit()?;
                Ok(true)
            }),
        }
    }

    /// The person of an unexpired session.
    pub fn citizen_session(&self, token_sha256: &[u8; 32], now_ms: u64) -> Result<Option<PersonId>, StoreError> {
        let now = to_i64(now_ms)?;
        let found: Option<Vec<u8>> = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                Ok(connection
                    .prepare_cached(
                        "SELECT person_id FROM citizen_session WHERE token_sha256 = ?1 AND expires_at_ms > ?2",
                    )?
                    .query_row(params![&token_sha256[..], now], |row| row.get(0))
                    .optional()?)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                client
                    .query_opt(
                        "SELECT person_id FROM citizen_session WHERE token_sha256 = $1 AND expires_at_ms > $2",
                        &[&&token_sha256[..], &now],
                    )?
                    .map(|row| row.try_get(0))
                    .transpose()
                    .map_err(StoreError::from)
            })?,
        };
        found.map(|bytes| to_person_id(&bytes)).transpose()
    }

    /// Ends a session (signing out); ending an unknown session does nothing.
    pub fn end_citizen_session(&self, token_sha256: &[u8; 32]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                connection
                    .prepare_cached("DELETE FROM citizen_session WHERE token_sha256 = ?1")?
                    .execute(params![&token_sha256[..]])?;
                Ok(())
            }),
            Store::Postgres(store) => store.with_client(|client| {
                client.execute("DELETE FROM citizen_session WHERE token_sha256 = $1", &[&&token_sha256[..]])?;
                Ok(())
            }),
        }
    }

    /// Deletes expired codes and sessions, and requests older than
    /// `requests_before_ms`.
    pub fn purge_citizen_rows(&self, now_ms: u64, requests_before_ms: u64) -> Result<(), StoreError> {
        let (now, before) = (to_i64(now_ms)?, to_i64(requests_before_ms)?);
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                let transaction = connection.transaction()?;
                transaction.execute("DELETE FROM citizen_code WHERE expires_at_ms <= ?1", params![now])?;
                transaction.execute("DELETE FROM citizen_session WHERE expires_at_ms <= ?1", params![now])?;
                transaction.execute("DELETE FROM citizen_request WHERE requested_at_ms < ?1", params![before])?;
                transaction.commit()?;
                Ok(())
            }),
            Store::Postgres(store) => store.with_client(|client| {
                let mut transaction = client.transaction()?;
                transaction.execute("DELETE FROM citizen_code WHERE expires_at_ms <= $1", &[&now])?;
                transaction.execute("DELETE FROM citizen_session WHERE expires_at_ms <= $1", &[&now])?;
                transaction.execute("DELETE FROM citizen_request WHERE requested_at_ms < $1", &[&before])?;
                transaction.commit()?;
                Ok(())
            }),
        }
    }

    /// Adds a message to the demo outbox; `destination` must already be masked.
    pub fn add_outbox_message(
        &self,
        channel: &str,
        destination: &str,
        body: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let now = to_i64(now_ms)?;
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                connection
                    .prepare_cached(
                        "INSERT INTO citizen_outbox (channel, destination, body, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![channel, destination, body, now])?;
                Ok(())
            }),
            Store::Postgres(store) => store.with_client(|client| {
                client.execute(
                    "INSERT INTO citizen_outbox (channel, destination, body, created_at_ms) VALUES ($1, $2, $3, $4)",
                    &[&channel, &destination, &body, &now],
                )?;
                Ok(())
            }),
        }
    }

    /// The newest outbox messages, newest first.
    pub fn outbox_messages(&self, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = i64::from(limit);
        let rows: Vec<(i64, String, String, String, i64)> = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT id, channel, destination, body, created_at_ms FROM citizen_outbox ORDER BY id DESC LIMIT ?1",
                )?;
                let rows = statement
                    .query_map(params![limit], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                client
                    .query(
                        "SELECT id, channel, destination, body, created_at_ms FROM citizen_outbox \
                         ORDER BY id DESC LIMIT $1",
                        &[&limit],
                    )?
                    .iter()
                    .map(|row| {
                        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?))
                    })
                    .collect()
            })?,
        };
        rows.into_iter()
            .map(|(id, channel, destination, body, created)| {
                Ok(OutboxMessage { id, channel, destination, body, created_at_ms: to_u64(created)? })
            })
            .collect()
    }
}
