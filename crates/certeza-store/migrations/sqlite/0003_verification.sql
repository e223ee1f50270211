-- Relying parties (banks, agencies) and the verifications they asked for.
-- A relying party's API key is stored only as its SHA-256; its policy is JSON.
CREATE TABLE relying_party (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    api_key_sha256 BLOB NOT NULL UNIQUE,
    policy         TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER
);

-- One row per verification answered. The stored response holds no personal
-- value (outcome, reason, per-field booleans); the person is referenced by the
-- blind index of the CURP, and `subject_salt` is the private salt of the log
-- entry's subject commitment, shown only to that citizen.
CREATE TABLE verification (
    id                TEXT PRIMARY KEY NOT NULL,
    relying_party_id  INTEGER NOT NULL REFERENCES relying_party (id),
    request_id        TEXT NOT NULL,
    request_sha256    BLOB NOT NULL,
    person_id         BLOB,
    subject_salt      BLOB NOT NULL,
    purpose           TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    reason            TEXT,
    response          TEXT NOT NULL,
    log_pending_id    INTEGER NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    UNIQUE (relying_party_id, request_id)
);
CREATE INDEX verification_by_person ON verification (person_id, created_at_ms);
