-- The transparency log. Entries hold no personal data (canonical LogEntry
-- bytes or opaque bytes). Indexes, ids and times are non-negative and fit in
-- a signed 64-bit integer.

-- Entries waiting to be integrated. BIGSERIAL so that a pending id, which
-- callers keep to fetch their proof, is never reused after integration.
CREATE TABLE log_pending (
    id              BIGSERIAL PRIMARY KEY,
    leaf_hash       BYTEA NOT NULL,
    data            BYTEA NOT NULL,
    queued_at_ms    BIGINT NOT NULL,
    promised_by_ms  BIGINT NOT NULL
);
CREATE INDEX log_pending_by_leaf ON log_pending (leaf_hash);

-- Integrated entries, by log index.
CREATE TABLE log_entry (
    idx               BIGINT PRIMARY KEY,
    pending_id        BIGINT NOT NULL UNIQUE,
    leaf_hash         BYTEA NOT NULL,
    data              BYTEA NOT NULL,
    integrated_at_ms  BIGINT NOT NULL
);
CREATE INDEX log_entry_by_leaf ON log_entry (leaf_hash);

-- The Merkle tree's stored hashes (Go sumdb/tlog layout), append-only.
CREATE TABLE log_hash (
    idx   BIGINT PRIMARY KEY,
    hash  BYTEA NOT NULL
);

-- Every signed checkpoint, one per batch; the largest is the latest. The
-- primary key makes two checkpoints of the same size impossible.
CREATE TABLE log_checkpoint (
    size          BIGINT PRIMARY KEY,
    root          BYTEA NOT NULL,
    note          TEXT NOT NULL,
    signed_at_ms  BIGINT NOT NULL
);

-- Single-writer leases (the log sequencer and other singleton duties).
CREATE TABLE lease (
    name           TEXT PRIMARY KEY NOT NULL,
    holder         TEXT NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);
