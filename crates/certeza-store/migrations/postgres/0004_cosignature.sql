-- Witness cosignatures of the log's checkpoints, kept apart from the signed
-- checkpoint note (which is never modified). `witness` is the witness's
-- verifier key; `line` is its verified cosignature line, which the server
-- appends to the checkpoint note it serves.
CREATE TABLE log_cosignature (
    size            BIGINT NOT NULL REFERENCES log_checkpoint (size),
    witness         TEXT NOT NULL,
    line            TEXT NOT NULL,
    cosigned_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (size, witness)
);

-- No query looks pending entries up by leaf hash (an integrated entry is
-- found through log_entry_by_leaf), and this random-order index cost two
-- B-tree updates per entry on the sequencer's hot path.
DROP INDEX log_pending_by_leaf;
