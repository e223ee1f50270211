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
