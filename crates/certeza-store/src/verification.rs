//! Relying parties and the verifications they asked for.
//!
//! A verification is recorded together with its transparency-log entry in one
//! transaction (queued submission), so an answered verification always reaches
//! the log, and a log entry never exists without its verification.

use rusqlite::{OptionalExtension, params};

use crate::log::{LogStore, StoreTransaction};
use crate::{PersonId, Store, StoreError};

/// A registered relying party (a bank, an agency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// The database id.
    pub id: i64,
    /// The unique name.
    pub name: String,
    /// The policy, as JSON (interpreted by the HTTP layer).
    pub policy: String,
    /// When it was registered.
    pub created_at_ms: u64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<u64>,
}

/// A verification to record.
#[derive(Clone, Debug)]
pub struct NewVerification<'a> {
    /// The verification id given to the relying party.
    pub id: &'a str,
    /// Who asked.
    pub relying_party_id: i64,
    /// The relying party's idempotency key.
    pub request_id: &'a str,
    /// SHA-256 of the normalised request, so a reused request id with a
    /// different request is detected.
    pub request_sha256: [u8; 32],
    /// The person the presented fields led to, if any.
    pub person_id: Option<PersonId>,
    /// The salt of the log entry's subject commitment (kept private).
    pub subject_salt: [u8; 16],
    /// The declared purpose.
    pub purpose: &'a str,
    /// `valid` or `invalid`.
    pub outcome: &'a str,
    /// The reason code of an invalid outcome.
    pub reason: Option<&'a str>,
    /// The JSON answer given (and given again for the same request id).
    pub response: &'a str,
    /// When it was answered.
    pub created_at_ms: u64,
}

/// What recording a verification did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A new verification, with the pending id of its log entry.
    New {
        /// The log's pending id (the proof is fetched with it later).
        pending_id: u64,
    },
    /// The relying party already asked with this request id: the earlier answer.
    Existing(StoredResponse),
}

/// A verification as the citizen sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationListing {
    /// The verification id.
    pub id: String,
    /// The relying party's name.
    pub relying_party_name: String,
    /// The declared purpose.
    pub purpose: String,
    /// `valid` or `invalid`.
    pub outcome: String,
    /// The reason code, if invalid.
    pub reason: Option<String>,
    /// When it happened.
    pub created_at_ms: u64,
    /// The pending id of its log entry.
    pub log_pending_id: u64,
    /// The salt of the entry's subject commitment.
    pub subject_salt: Vec<u8>,
}

/// An answer given earlier for a request id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// The JSON answer.
    pub response: String,
    /// SHA-256 of the request it answered.
    pub request_sha256: Vec<u8>,
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::CorruptRecord("a number does not fit in 63 bits"))
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::CorruptRecord("a stored number is negative"))
}

fn stored_response_in(
    transaction: &mut StoreTransaction<'_, '_>,
    relying_party_id: i64,
    request_id: &str,
) -> Result<Option<StoredResponse>, StoreError> {
    match transaction {
        StoreTransaction::Sqlite(sqlite) => Ok(sqlite
            .prepare_cached(
                "SELECT response, request_sha256 FROM verification WHERE relying_party_id = ?1 AND request_id = ?2",
            )?
            .query_row(params![relying_party_id, request_id], |row| {
                Ok(StoredResponse { response: row.get(0)?, request_sha256: row.get(1)? })
            })
            .optional()?),
        StoreTransaction::Postgres(postgres) => postgres
            .query_opt(
                "SELECT response, request_sha256 FROM verification WHERE relying_party_id = $1 AND request_id = $2",
                &[&relying_party_id, &request_id],
            )?
            .map(|row| Ok(StoredResponse { response: row.try_get(0)?, request_sha256: row.try_get(1)? }))
            .transpose(),
    }
}

/// The PostgreSQL group commit: the whole batch in four statements (a
/// network round trip per statement, not per verification), whatever its size.
fn postgres_record_batch(
    client: &mut postgres::Client,
    batch: &[(NewVerification<'_>, &[u8])],
    max_merge_delay_millis: u64,
) -> Result<Vec<Recorded>, StoreError> {
    let mut transaction = client.transaction()?;
    // Earlier answers to any of these request ids.
    let party_ids: Vec<i64> = batch.iter().map(|(verification, _)| verification.relying_party_id).collect();
    let request_ids: Vec<&str> = batch.iter().map(|(verification, _)| verification.request_id).collect();
    let mut earlier: std::collections::HashMap<(i64, String), StoredResponse> = transaction
        .query(
            "SELECT v.relying_party_id, v.request_id, v.response, v.request_sha256 FROM verification v \
             JOIN UNNEST($1::BIGINT[], $2::TEXT[]) AS r (party, request) \
             ON v.relying_party_id = r.party AND v.request_id = r.request",
            &[&party_ids, &request_ids],
        )?
        .iter()
        .map(|row| {
            Ok((
                (row.try_get(0)?, row.try_get(1)?),
                StoredResponse { response: row.try_get(2)?, request_sha256: row.try_get(3)? },
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    // The new ones (a request id repeated within the batch is answered like
    // its first occurrence), with a pending id each.
    let mut results: Vec<Option<Recorded>> = vec![None; batch.len()];
    let mut new_positions = Vec::new();
    for (position, (verification, log_entry)) in batch.iter().enumerate() {
        let key = (verification.relying_party_id, verification.request_id.to_owned());
        if let Some(stored) = earlier.get(&key) {
            results[position] = Some(Recorded::Existing(stored.clone()));
            continue;
        }
        crate::log::check_entry(log_entry)?;
        earlier.insert(
            key,
            StoredResponse {
                response: verification.response.to_owned(),
                request_sha256: verification.request_sha256.to_vec(),
            },
        );
        new_positions.push(position);
    }
    if !new_positions.is_empty() {
        let count =
            i64::try_from(new_positions.len()).map_err(|_| StoreError::CorruptRecord("a batch is too large"))?;
        let pending_ids: Vec<i64> = transaction
            .query(
                "SELECT nextval(pg_get_serial_sequence('log_pending', 'id')) FROM generate_series(1, $1::BIGINT)",
                &[&count],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut leaves = Vec::with_capacity(new_positions.len());
        let mut entries = Vec::with_capacity(new_positions.len());
        let mut queued = Vec::with_capacity(new_positions.len());
        let mut promised = Vec::with_capacity(new_positions.len());
        let mut ids = Vec::with_capacity(new_positions.len());
        let mut parties = Vec::with_capacity(new_positions.len());
        let mut requests = Vec::with_capacity(new_positions.len());
        let mut request_hashes = Vec::with_capacity(new_positions.len());
        let mut people = Vec::with_capacity(new_positions.len());
        let mut salts = Vec::with_capacity(new_positions.len());
        let mut purposes = Vec::with_capacity(new_positions.len());
        let mut outcomes = Vec::with_capacity(new_positions.len());
        let mut reasons = Vec::with_capacity(new_positions.len());
        let mut responses = Vec::with_capacity(new_positions.len());
        let mut created = Vec::with_capacity(new_positions.len());
        for &position in &new_positions {
            let (verification, log_entry) = &batch[position];
            leaves.push(certeza_log::merkle::hash_leaf(log_entry).to_vec());
            entries.push(*log_entry);
            queued.push(to_i64(verification.created_at_ms)?);
            promised.push(to_i64(verification.created_at_ms.saturating_add(max_merge_delay_millis))?);
            ids.push(verification.id);
            parties.push(verification.relying_party_id);
            requests.push(verification.request_id);
            request_hashes.push(&verification.request_sha256[..]);
            people.push(verification.person_id.map(|id| id.to_vec()));
            salts.push(&verification.subject_salt[..]);
            purposes.push(verification.purpose);
            outcomes.push(verification.outcome);
            reasons.push(verification.reason);
            responses.push(verification.response);
            created.push(to_i64(verification.created_at_ms)?);
        }
        transaction.execute(
            "INSERT INTO log_pending (id, leaf_hash, data, queued_at_ms, promised_by_ms) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BYTEA[], $4::BIGINT[], $5::BIGINT[])",
            &[&pending_ids, &leaves, &entries, &queued, &promised],
        )?;
        transaction.execute(
            "INSERT INTO verification (id, relying_party_id, request_id, request_sha256, person_id, subject_salt, \
             purpose, outcome, reason, response, log_pending_id, created_at_ms) \
             SELECT * FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::BYTEA[], $5::BYTEA[], $6::BYTEA[], \
             $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::BIGINT[], $12::BIGINT[])",
            &[
                &ids,
                &parties,
                &requests,
                &request_hashes,
                &people,
                &salts,
                &purposes,
                &outcomes,
                &reasons,
                &responses,
                &pending_ids,
                &created,
            ],
        )?;
        for (&position, pending_id) in new_positions.iter().zip(&pending_ids) {
            results[position] = Some(Recorded::New { pending_id: to_u64(*pending_id)? });
        }
    }
    transaction.commit()?;
    results.into_iter().map(|result| result.ok_or(StoreError::CorruptRecord("a recorded batch lost an item"))).collect()
}

fn insert_verification(
    transaction: &mut StoreTransaction<'_, '_>,
    verification: &NewVerification<'_>,
    pending_id: u64,
) -> Result<(), StoreError> {
    let created = to_i64(verification.created_at_ms)?;
    let pending = to_i64(pending_id)?;
    let person_id = verification.person_id.map(|id| id.to_vec());
    match transaction {
        StoreTransaction::Sqlite(sqlite) => {
            sqlite
                .prepare_cached(
                    "INSERT INTO verification (id, relying_party_id, request_id, request_sha256, person_id, \
                     subject_salt, purpose, outcome, reason, response, log_pending_id, created_at_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    verification.id,
                    verification.relying_party_id,
                    verification.request_id,
                    &verification.request_sha256[..],
                    person_id,
                    &verification.subject_salt[..],
                    verification.purpose,
                    verification.outcome,
                    verification.reason,
                    verification.response,
                    pending,
                    created,
                ])?;
        }
        StoreTransaction::Postgres(postgres) => {
            postgres.execute(
                "INSERT INTO verification (id, relying_party_id, request_id, request_sha256, person_id, \
                 subject_salt, purpose, outcome, reason, response, log_pending_id, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &verification.id,
                    &verification.relying_party_id,
                    &verification.request_id,
                    &&verification.request_sha256[..],
                    &person_id,
                    &&verification.subject_salt[..],
                    &verification.purpose,
                    &verification.outcome,
                    &verification.reason,
                    &verification.response,
                    &pending,
                    &created,
                ],
            )?;
        }
    }
    Ok(())
}

const LISTING_SQL_SQLITE: &str = "SELECT v.id, r.name, v.purpose, v.outcome, v.reason, v.created_at_ms, \
     v.log_pending_id, v.subject_salt FROM verification v JOIN relying_party r ON r.id = v.relying_party_id \
     WHERE v.person_id = ?1 ORDER BY v.created_at_ms DESC, v.id LIMIT 500";

const LISTING_SQL_POSTGRES: &str = "SELECT v.id, r.name, v.purpose, v.outcome, v.reason, v.created_at_ms, \
     v.log_pending_id, v.subject_salt FROM verification v JOIN relying_party r ON r.id = v.relying_party_id \
     WHERE v.person_id = $1 ORDER BY v.created_at_ms DESC, v.id LIMIT 500";

impl Store {
    /// Registers a relying party; its name and key hash must be unique.
    pub fn add_relying_party(
        &self,
        name: &str,
        api_key_sha256: &[u8; 32],
        policy_json: &str,
        now_unix_millis: u64,
    ) -> Result<i64, StoreError> {
        let now = to_i64(now_unix_millis)?;
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                Ok(connection.query_row(
                    "INSERT INTO relying_party (name, api_key_sha256, policy, created_at_ms) \
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![name, &api_key_sha256[..], policy_json, now],
                    |row| row.get(0),
                )?)
            }),
            Store::Postgres(store) => store.with_client(|client| {
                Ok(client
                    .query_one(
                        "INSERT INTO relying_party (name, api_key_sha256, policy, created_at_ms) \
                         VALUES ($1, $2, $3, $4) RETURNING id",
                        &[&name, &&api_key_sha256[..], &policy_json, &now],
                    )?
                    .try_get(0)?)
            }),
        }
    }

    /// Every relying party, by name.
    pub fn relying_parties(&self) -> Result<Vec<RelyingParty>, StoreError> {
        self.query_relying_parties(None)
    }

    /// Relying parties, all of them or the one whose key hashes to `api_key_sha256`.
    fn query_relying_parties(&self, api_key_sha256: Option<&[u8; 32]>) -> Result<Vec<RelyingParty>, StoreError> {
        const COLUMNS: &str = "SELECT id, name, policy, created_at_ms, revoked_at_ms FROM relying_party";
        let key = api_key_sha256.map(|key| key.to_vec());
        let rows: Vec<(i64, String, String, i64, Option<i64>)> = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                let sql = match key {
                    Some(_) => format!("{COLUMNS} WHERE api_key_sha256 = ?1"),
                    None => format!("{COLUMNS} WHERE ?1 IS NULL ORDER BY name"),
                };
                let mut statement = connection.prepare_cached(&sql)?;
                let rows = statement.query_map(params![key], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                let rows = match &key {
                    Some(key) => client.query(&format!("{COLUMNS} WHERE api_key_sha256 = $1"), &[key])?,
                    None => client.query(&format!("{COLUMNS} ORDER BY name"), &[])?,
                };
                rows.iter()
                    .map(|row| {
                        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            })?,
        };
        rows.into_iter()
            .map(|(id, name, policy, created, revoked)| {
                Ok(RelyingParty {
                    id,
                    name,
                    policy,
                    created_at_ms: to_u64(created)?,
                    revoked_at_ms: revoked.map(to_u64).transpose()?,
                })
            })
            .collect()
    }

    /// Revokes a relying party by name; false when there is no such party.
    pub fn revoke_relying_party(&self, name: &str, now_unix_millis: u64) -> Result<bool, StoreError> {
        let now = to_i64(now_unix_millis)?;
        let changed = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                Ok(connection.execute(
                    "UPDATE relying_party SET revoked_at_ms = ?1 WHERE name = ?2 AND revoked_at_ms IS NULL",
                    params![now, name],
                )? as u64)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                Ok(client.execute(
                    "UPDATE relying_party SET revoked_at_ms = $1 WHERE name = $2 AND revoked_at_ms IS NULL",
                    &[&now, &name],
                )?)
            })?,
        };
        Ok(changed > 0)
    }

    /// The relying party whose API key hashes to `api_key_sha256`.
    pub fn relying_party_by_key(&self, api_key_sha256: &[u8; 32]) -> Result<Option<RelyingParty>, StoreError> {
        Ok(self.query_relying_parties(Some(api_key_sha256))?.into_iter().next())
    }

    /// The stored answer for a relying party's request id, if it asked before.
    pub fn stored_verification_response(
        &self,
        relying_party_id: i64,
        request_id: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                Ok(connection
                    .prepare_cached(
                        "SELECT response, request_sha256 FROM verification \
                         WHERE relying_party_id = ?1 AND request_id = ?2",
                    )?
                    .query_row(params![relying_party_id, request_id], |row| {
                        Ok(StoredResponse { response: row.get(0)?, request_sha256: row.get(1)? })
                    })
                    .optional()?)
            }),
            Store::Postgres(store) => store.with_client(|client| {
                client
                    .query_opt(
                        "SELECT response, request_sha256 FROM verification \
                         WHERE relying_party_id = $1 AND request_id = $2",
                        &[&relying_party_id, &request_id],
                    )?
                    .map(|row| Ok(StoredResponse { response: row.try_get(0)?, request_sha256: row.try_get(1)? }))
                    .transpose()
            }),
        }
    }

    /// Records a verification and queues its log entry in one transaction. If
    /// the relying party already used this request id, nothing is written and
    /// the earlier answer is returned.
    pub fn record_verification(
        &self,
        verification: &NewVerification<'_>,
        log_entry: &[u8],
        max_merge_delay_millis: u64,
    ) -> Result<Recorded, StoreError> {
        let mut recorded = self.record_verifications(&[(verification.clone(), log_entry)], max_merge_delay_millis)?;
        recorded.pop().ok_or(StoreError::CorruptRecord("a recorded batch lost an item"))
    }

    /// Records several verifications, each with its queued log entry, in ONE
    /// transaction (group commit: one durable write for many answers). A
    /// request id seen before, in the database or earlier in the batch, is not
    /// written again; its earlier answer is returned in its place.
    pub fn record_verifications(
        &self,
        batch: &[(NewVerification<'_>, &[u8])],
        max_merge_delay_millis: u64,
    ) -> Result<Vec<Recorded>, StoreError> {
        let recorded = self.record_verifications_before_sync(batch, max_merge_delay_millis)?;
        self.sync_committed_writes()?;
        Ok(recorded)
    }

    /// Records like [`Store::record_verifications`], but on SQLite the commit
    /// does not wait for the disk: the batch is committed (visible, crash-safe
    /// for the process) and becomes durable against power loss only at the
    /// next [`Store::sync_committed_writes`]. A caller acknowledges nothing
    /// before that call returns. Splitting the two lets one thread write the
    /// next batch while another waits for the disk, and one sync cover
    /// several batches (pipelined group commit). On PostgreSQL the commit is
    /// durable when it returns.
    pub fn record_verifications_before_sync(
        &self,
        batch: &[(NewVerification<'_>, &[u8])],
        max_merge_delay_millis: u64,
    ) -> Result<Vec<Recorded>, StoreError> {
        match self {
            Store::Postgres(store) => {
                store.with_client(|client| postgres_record_batch(client, batch, max_merge_delay_millis))
            }
            Store::Sqlite(_) => LogStore::new(self).with_transaction_before_sync(|transaction| {
                let mut results = Vec::with_capacity(batch.len());
                for (verification, log_entry) in batch {
                    if let Some(stored) =
                        stored_response_in(transaction, verification.relying_party_id, verification.request_id)?
                    {
                        results.push(Recorded::Existing(stored));
                        continue;
                    }
                    let queued =
                        transaction.enqueue_log_entry(log_entry, verification.created_at_ms, max_merge_delay_millis)?;
                    insert_verification(transaction, verification, queued.pending_id)?;
                    results.push(Recorded::New { pending_id: queued.pending_id });
                }
                Ok(results)
            }),
        }
    }

    /// Makes every write committed so far by [`Store::record_verifications_before_sync`]
    /// durable: on SQLite, one `fdatasync` of the write-ahead log (commits
    /// append to it in order, so one sync covers all earlier ones); on
    /// PostgreSQL, nothing (its commits were durable already).
    pub fn sync_committed_writes(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.sync_write_ahead_log(),
            Store::Postgres(_) => Ok(()),
        }
    }

    /// The pending log id of a relying party's verification.
    pub fn verification_log_pending_id(
        &self,
        relying_party_id: i64,
        verification_id: &str,
    ) -> Result<Option<u64>, StoreError> {
        let found: Option<i64> = match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                Ok(connection
                    .prepare_cached("SELECT log_pending_id FROM verification WHERE relying_party_id = ?1 AND id = ?2")?
                    .query_row(params![relying_party_id, verification_id], |row| row.get(0))
                    .optional()?)
            })?,
            Store::Postgres(store) => store.with_client(|client| {
                Ok(client
                    .query_opt(
                        "SELECT log_pending_id FROM verification WHERE relying_party_id = $1 AND id = $2",
                        &[&relying_party_id, &verification_id],
                    )?
                    .map(|row| row.try_get(0))
                    .transpose()?)
            })?,
        };
        found.map(to_u64).transpose()
    }

    /// Every verification about one person, newest first (at most 500).
    pub fn verifications_for_person(&self, person_id: &PersonId) -> Result<Vec<VerificationListing>, StoreError> {
        match self {
            Store::Sqlite(store) => store.with_connection(|connection| {
                let mut statement = connection.prepare_cached(LISTING_SQL_SQLITE)?;
                let rows = statement.query_map(params![&person_id[..]], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, i64>(6)?,
                        row.get::<_, Vec<u8>>(7)?,
                    ))
                })?;
                let mut listings = Vec::new();
                for row in rows {
                    let (id, relying_party_name, purpose, outcome, reason, created, pending, subject_salt) = row?;
                    listings.push(VerificationListing {
                        id,
                        relying_party_name,
                        purpose,
                        outcome,
                        reason,
                        created_at_ms: to_u64(created)?,
                        log_pending_id: to_u64(pending)?,
                        subject_salt,
                    });
                }
                Ok(listings)
            }),
            Store::Postgres(store) => store.with_client(|client| {
                client
                    .query(LISTING_SQL_POSTGRES, &[&&person_id[..]])?
                    .iter()
                    .map(|row| {
                        Ok(VerificationListing {
                            id: row.try_get(0)?,
                            relying_party_name: row.try_get(1)?,
                            purpose: row.try_get(2)?,
                            outcome: row.try_get(3)?,
                            reason: row.try_get(4)?,
                            created_at_ms: to_u64(row.try_get(5)?)?,
                            log_pending_id: to_u64(row.try_get(6)?)?,
                            subject_salt: row.try_get(7)?,
                        })
                    })
                    .collect()
            }),
        }
    }
}
