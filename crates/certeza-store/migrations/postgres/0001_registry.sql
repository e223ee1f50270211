-- The registry of people. Every personal value is sealed (AES-256-GCM, the AAD
-- binding the record id and the field name); lookups and comparisons use blind
-- indexes (HMAC-SHA-256 truncated to 16 bytes). Nothing here is readable
-- without the key directory.
CREATE TABLE person (
    id                  BYTEA NOT NULL, -- blind index of the CURP (unique index below)
    data_key_id         TEXT NOT NULL,
    index_key_id        TEXT NOT NULL,
    cic_idx             BYTEA NOT NULL,
    ocr_idx             BYTEA NOT NULL,
    clave_idx           BYTEA NOT NULL,
    emission_idx        BYTEA NOT NULL,
    given_names_idx     BYTEA NOT NULL,
    first_surname_idx   BYTEA NOT NULL,
    second_surname_idx  BYTEA NOT NULL,
    birth_date_idx      BYTEA NOT NULL,
    status              TEXT NOT NULL,
    content_digest      BYTEA NOT NULL,
    sealed              BYTEA NOT NULL,
    updated_at_ms       BIGINT NOT NULL
);
CREATE UNIQUE INDEX person_by_id ON person (id);
CREATE INDEX person_by_cic ON person (cic_idx);
CREATE INDEX person_by_ocr ON person (ocr_idx);
CREATE INDEX person_by_clave ON person (clave_idx);
