//! The mapping between a person in clear and their sealed row.
//!
//! A person's personal fields are sealed together (one AEAD message whose AAD
//! binds the record id and every field's name); every field a relying party
//! may present is also kept as a blind index so that verification compares
//! indexes and never decrypts.

use certeza_core::{Curp, PERSON_CSV_HEADER, Person};
use certeza_crypto::{BlindIndex, BlindIndexer, LoadedKeys, Sealer};

use crate::{PersonId, PersonIndexes, SealedPerson, StoreError};

/// The sealed fields, in the order they are stored: every CSV column but the
/// status (the last column), which stays in clear for the hot path.
pub const SEALED_FIELDS: [&str; 13] = {
    let mut fields = [""; 13];
    let mut position = 0;
    while position < 13 {
        fields[position] = PERSON_CSV_HEADER[position];
        position += 1;
    }
    fields
};

/// Blind-index field names (domain separation inside the HMAC).
pub mod index_field {
    /// CURP (also the record id).
    pub const CURP: &str = "curp";
    /// CIC.
    pub const CIC: &str = "cic";
    /// OCR.
    pub const OCR: &str = "ocr";
    /// Clave de elector.
    pub const CLAVE_ELECTOR: &str = "clave_elector";
    /// Emission number.
    pub const EMISSION: &str = "emission";
    /// Given names.
    pub const GIVEN_NAMES: &str = "given_names";
    /// First surname.
    pub const FIRST_SURNAME: &str = "first_surname";
    /// Second surname.
    pub const SECOND_SURNAME: &str = "second_surname";
    /// Birth date.
    pub const BIRTH_DATE: &str = "birth_date";
}

/// Normalises text for a blind index: accents folded, upper case, inner
/// whitespace collapsed to one space, outer whitespace trimmed.
pub fn normalize_for_index(value: &str) -> std::borrow::Cow<'_, str> {
    let bytes = value.as_bytes();
    let already_normal = !bytes.is_empty()
        && bytes.iter().all(|byte| byte.is_ascii_graphic() && !byte.is_ascii_lowercase() || *byte == b' ')
        && bytes[0] != b' '
        && bytes[bytes.len() - 1] != b' '
        && !value.contains("  ");
    if already_normal {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut normalized = String::with_capacity(value.len());
    for word in value.split_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        for character in word.chars() {
            let folded = match character {
                'á' | 'à' | 'ä' | 'â' | 'Á' | 'À' | 'Ä' | 'Â' => 'A',
                'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' | 'Ë' | 'Ê' => 'E',
                'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'I',
                'ó' | 'ò' | 'ö' | 'ô' | 'Ó' | 'Ò' | 'Ö' | 'Ô' => 'O',
                'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'U',
                'ñ' | 'Ñ' => 'N',
                other => other,
            };
            normalized.extend(folded.to_uppercase());
        }
    }
    std::borrow::Cow::Owned(normalized)
}

/// Seals people for storage and opens them for the operator, with the keys
/// of the key directory.
pub struct PersonSealer {
    current_sealer: Sealer,
    older_sealers: Vec<Sealer>,
    indexer: BlindIndexer,
}

impl std::fmt::Debug for PersonSealer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("PersonSealer").field("data_key", &self.current_sealer.key_id()).finish()
    }
}

impl PersonSealer {
    /// Builds the sealer from loaded keys; the nonce prefix comes from the OS.
    pub fn new(keys: &LoadedKeys) -> Result<Self, StoreError> {
        let mut sealers = Vec::with_capacity(keys.data.len());
        for key in &keys.data {
            let mut prefix = [0u8; 4];
            certeza_crypto::os_random(&mut prefix)?;
            sealers.push(Sealer::new(&key.key_id, &key.secret, prefix)?);
        }
        let mut sealers = sealers.into_iter();
        let current_sealer = sealers.next().ok_or(StoreError::CorruptRecord("no data key was loaded"))?;
        Ok(Self {
            current_sealer,
            older_sealers: sealers.collect(),
            indexer: BlindIndexer::new(&keys.blind_index.key_id, &keys.blind_index.secret),
        })
    }

    /// The blind-index computer, for lookups of presented values.
    pub fn indexer(&self) -> &BlindIndexer {
        &self.indexer
    }

    /// The record id of the person with this CURP.
    pub fn person_id(&self, curp: &Curp) -> PersonId {
        self.indexer.index(index_field::CURP, curp.as_str().as_bytes())
    }

    /// The blind index of a presented value of `field` (normalised first).
    pub fn index_of(&self, field: &str, presented_value: &str) -> BlindIndex {
        self.indexer.index(field, normalize_for_index(presented_value).as_bytes())
    }

    /// Seals one person.
    pub fn seal(&self, person: &Person) -> SealedPerson {
        person.with_csv_fields(|fields| self.seal_fields(person, &fields))
    }

    fn seal_fields(&self, person: &Person, fields: &[&str; 14]) -> SealedPerson {
        let id = self.person_id(&person.curp);
        let mut field_values: [(&str, &[u8]); 13] = [("", &[]); 13];
        for (slot, (field_name, value)) in field_values.iter_mut().zip(SEALED_FIELDS.iter().zip(fields.iter())) {
            *slot = (field_name, value.as_bytes());
        }
        let sealed = self.current_sealer.seal_record(&id, &field_values);
        let mut digest_input = Vec::with_capacity(256);
        for value in fields {
            digest_input.extend_from_slice(value.as_bytes());
            digest_input.push(0x1f);
        }
        SealedPerson {
            id,
            data_key_id: self.current_sealer.key_id().to_owned(),
            index_key_id: self.indexer.key_id().to_owned(),
            indexes: PersonIndexes {
                cic: self.index_of(index_field::CIC, fields[8]),
                ocr: self.index_of(index_field::OCR, fields[9]),
                clave_elector: self.index_of(index_field::CLAVE_ELECTOR, fields[7]),
                emission: self.index_of(index_field::EMISSION, fields[10]),
                given_names: self.index_of(index_field::GIVEN_NAMES, fields[1]),
                first_surname: self.index_of(index_field::FIRST_SURNAME, fields[2]),
                second_surname: self.index_of(index_field::SECOND_SURNAME, fields[3]),
                birth_date: self.index_of(index_field::BIRTH_DATE, fields[4]),
            },
            status: person.status.as_str().to_owned(),
            content_digest: self.indexer.digest("person/v1", &digest_input),
            sealed,
        }
    }

    /// Opens a sealed row (operator use only: this decrypts personal data).
    pub fn open(&self, sealed_person: &SealedPerson) -> Result<Person, StoreError> {
        let sealer = std::iter::once(&self.current_sealer)
            .chain(self.older_sealers.iter())
            .find(|sealer| sealer.key_id() == sealed_person.data_key_id)
            .ok_or(StoreError::CorruptRecord("the record was sealed with a data key that is not loaded"))?;
        let opened = sealer.open_record(&sealed_person.id, &SEALED_FIELDS, &sealed_person.sealed)?;
        let mut clear_fields: Vec<String> = Vec::with_capacity(PERSON_CSV_HEADER.len());
        for value in opened {
            clear_fields.push(String::from_utf8(value).map_err(|_| StoreError::CorruptRecord("a field is not UTF-8"))?);
        }
        clear_fields.push(sealed_person.status.clone());
        let borrowed: Vec<&str> = clear_fields.iter().map(String::as_str).collect();
        Person::from_csv_fields(&borrowed).map_err(|_| StoreError::CorruptRecord("an opened record does not validate"))
    }
}
