-- The registry of people. Every personal value is sealed (AES-256-GCM, the AAD
-- binding the record id and the field name); lookups and comparisons use blind
-- indexes (HMAC-SHA-256 truncated to 16 bytes). Nothing here is readable
-- without the key directory.
CREATE TABLE person (
    id                  BLOB NOT NULL, -- blind index of the CURP (unique index below)
    data_key_id         TEXT NOT NULL,
    index_key_id        TEXT NOT NULL,
    cic_idx             BLOB NOT NULL,
    ocr_idx             BLOB NOT NULL,
    clave_idx           BLOB NOT NULL,
    emission_idx        BLOB NOT NULL,
    given_names_idx     BLOB NOT NULL,
    first_surname_idx   BLOB NOT NULL,
    second_surname_idx  BLOB NOT NULL,
    birth_date_idx      BLOB NOT NULL,
    status              TEXT NOT NULL,
    content_digest      BLOB NOT NULL,
    sealed              BLOB NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
CREATE UNIQUE INDEX person_by_id ON person (id);
CREATE INDEX person_by_cic ON person (cic_idx);
CREATE INDEX person_by_ocr ON person (ocr_idx);
CREATE INDEX person_by_clave ON person (clave_idx);
