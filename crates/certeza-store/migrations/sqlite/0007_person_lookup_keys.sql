-- Integer lookup keys beside the blind indexes that lookups search by (CIC, OCR,
-- clave de elector): the index's first 7 bytes as a big-endian integer. SQLite
-- sorts integer keys much faster than blobs when it builds an index (a bulk
-- import rebuilds these indexes), and the index entries are smaller. A lookup
-- finds the rows with the key, then compares the whole blind index.
ALTER TABLE person ADD COLUMN cic_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE person ADD COLUMN ocr_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE person ADD COLUMN clave_key INTEGER NOT NULL DEFAULT 0;
-- The keys of the rows already here, computed from their blind indexes' hex
-- digits (the same value as `lookup_key` in sqlite.rs).
UPDATE person SET
    cic_key = (
        ((instr('0123456789ABCDEF', substr(hex(cic_idx), 1, 1)) - 1) << 52)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 2, 1)) - 1) << 48)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 3, 1)) - 1) << 44)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 4, 1)) - 1) << 40)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 5, 1)) - 1) << 36)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 6, 1)) - 1) << 32)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 7, 1)) - 1) << 28)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 8, 1)) - 1) << 24)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 9, 1)) - 1) << 20)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 10, 1)) - 1) << 16)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 11, 1)) - 1) << 12)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 12, 1)) - 1) << 8)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 13, 1)) - 1) << 4)
        | ((instr('0123456789ABCDEF', substr(hex(cic_idx), 14, 1)) - 1) << 0)
    ),
    ocr_key = (
        ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 1, 1)) - 1) << 52)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 2, 1)) - 1) << 48)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 3, 1)) - 1) << 44)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 4, 1)) - 1) << 40)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 5, 1)) - 1) << 36)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 6, 1)) - 1) << 32)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 7, 1)) - 1) << 28)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 8, 1)) - 1) << 24)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 9, 1)) - 1) << 20)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 10, 1)) - 1) << 16)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 11, 1)) - 1) << 12)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 12, 1)) - 1) << 8)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 13, 1)) - 1) << 4)
        | ((instr('0123456789ABCDEF', substr(hex(ocr_idx), 14, 1)) - 1) << 0)
    ),
    clave_key = (
        ((instr('0123456789ABCDEF', substr(hex(clave_idx), 1, 1)) - 1) << 52)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 2, 1)) - 1) << 48)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 3, 1)) - 1) << 44)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 4, 1)) - 1) << 40)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 5, 1)) - 1) << 36)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 6, 1)) - 1) << 32)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 7, 1)) - 1) << 28)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 8, 1)) - 1) << 24)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 9, 1)) - 1) << 20)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 10, 1)) - 1) << 16)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 11, 1)) - 1) << 12)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 12, 1)) - 1) << 8)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 13, 1)) - 1) << 4)
        | ((instr('0123456789ABCDEF', substr(hex(clave_idx), 14, 1)) - 1) << 0)
    );
DROP INDEX IF EXISTS person_by_cic;
DROP INDEX IF EXISTS person_by_ocr;
DROP INDEX IF EXISTS person_by_clave;
CREATE INDEX person_by_cic ON person (cic_key);
CREATE INDEX person_by_ocr ON person (ocr_key);
CREATE INDEX person_by_clave ON person (clave_key);
