//! Mapping between a [`Person`] and the fields of one CSV row, without any IO.
//!
//! Reading and writing the CSV file itself happens in other crates; this
//! module only defines the column order and validates the field values.

use crate::curp::Curp;
use crate::date::Date;
use crate::elector::{Cic, ClaveElector, EmissionNumber, Ocr};
use crate::error::RowError;
use crate::person::{CredentialStatus, Person, Sex, State};

/// The column names of a person CSV file, in order.
pub const PERSON_CSV_HEADER: [&str; 14] = [
    "curp",
    "given_names",
    "first_surname",
    "second_surname",
    "birth_date",
    "sex",
    "birth_state",
    "clave_elector",
    "cic",
    "ocr",
    "emission",
    "phone",
    "email",
    "status",
];

/// The largest number of characters allowed in one name field.
pub const MAX_NAME_CHARS: usize = 60;

/// The largest number of characters allowed in an e-mail address.
pub const MAX_EMAIL_CHARS: usize = 254;

impl Person {
    /// The person's fields in [`PERSON_CSV_HEADER`] order.
    ///
    /// The birth date is written as `YYYY-MM-DD`, the sex as `H`, `M` or
    /// `X`, the birth state as its CURP code and the status as
    /// [`CredentialStatus::as_str`].
    #[must_use]
    pub fn to_csv_fields(&self) -> [String; 14] {
        self.with_csv_fields(|fields| fields.map(str::to_owned))
    }

    /// Calls `work` with the CSV fields of this person borrowed, in
    /// [`PERSON_CSV_HEADER`] order, without allocating a string per field
    /// (the hot path of sealing during an import).
    pub fn with_csv_fields<R>(&self, work: impl FnOnce([&str; 14]) -> R) -> R {
        let birth_date = self.birth_date.to_string();
        work([
            self.curp.as_str(),
            &self.given_names,
            &self.first_surname,
            &self.second_surname,
            &birth_date,
            self.sex.as_str(),
            self.birth_state.curp_code(),
            self.clave_elector.as_str(),
            self.cic.as_str(),
            self.ocr.as_str(),
            self.emission.as_str(),
            &self.phone,
            &self.email,
            self.status.as_str(),
        ])
    }

    /// Builds a person from the fields of one CSV row in [`PERSON_CSV_HEADER`] order.
    ///
    /// Surrounding whitespace of every field is ignored. Besides validating
    /// each field, the CURP's birth date, sex and state must agree with the
    /// `birth_date`, `sex` and `birth_state` columns, and the clave de
    /// elector's birth date and sex must agree too. Names must contain a
    /// letter and only letters, spaces, apostrophes and hyphens, up to
    /// [`MAX_NAME_CHARS`] characters; `second_surname` may be empty for
    /// people with a single surname. Errors name the column and the reason
    /// but never the value.
    pub fn from_csv_fields<S: AsRef<str>>(fields: &[S]) -> Result<Person, RowError> {
        if fields.len() != PERSON_CSV_HEADER.len() {
            return Err(RowError::WrongColumnCount { found: fields.len(), expected: PERSON_CSV_HEADER.len() });
        }
        let field = |index: usize| fields[index].as_ref().trim();
        let curp = Curp::parse(field(0)).map_err(|error| invalid(0, error))?;
        let given_names = validate_name(field(1), false).map_err(|reason| invalid(1, reason))?;
        let first_surname = validate_name(field(2), false).map_err(|reason| invalid(2, reason))?;
        let second_surname = validate_name(field(3), true).map_err(|reason| invalid(3, reason))?;
        let birth_date = Date::parse_iso(field(4)).map_err(|error| invalid(4, error))?;
        let sex = Sex::parse(field(5)).map_err(|error| invalid(5, error))?;
        let birth_state = State::parse_curp_code(field(6)).map_err(|error| invalid(6, error))?;
        let clave_elector = ClaveElector::parse(field(7)).map_err(|error| invalid(7, error))?;
        let cic = Cic::parse(field(8)).map_err(|error| invalid(8, error))?;
        let ocr = Ocr::parse(field(9)).map_err(|error| invalid(9, error))?;
        let emission = EmissionNumber::parse(field(10)).map_err(|error| invalid(10, error))?;
        let phone = validate_phone(field(11)).map_err(|reason| invalid(11, reason))?;
        let email = validate_email(field(12)).map_err(|reason| invalid(12, reason))?;
        let status = CredentialStatus::parse(field(13)).map_err(|error| invalid(13, error))?;

        if curp.birth_date() != birth_date {
            return Err(invalid(0, "the birth date in the CURP disagrees with column birth_date"));
        }
        if curp.sex() != sex {
            return Err(invalid(0, "the sex in the CURP disagrees with column sex"));
        }
        if curp.state() != birth_state {
            return Err(invalid(0, "the state in the CURP disagrees with column birth_state"));
        }
        if !clave_elector.matches_birth_date(birth_date) {
            return Err(invalid(7, "the birth date in the clave de elector disagrees with column birth_date"));
        }
        if clave_elector.sex() != sex {
            return Err(invalid(7, "the sex in the clave de elector disagrees with column sex"));
        }

        Ok(Person {
            curp,
            given_names,
            first_surname,
            second_surname,
            birth_date,
            sex,
            birth_state,
            clave_elector,
            cic,
            ocr,
            emission,
            phone,
            email,
            status,
        })
    }
}

/// Builds an [`RowError::InvalidField`] for the column at `index`.
fn invalid(index: usize, reason: impl ToString) -> RowError {
    RowError::InvalidField { column: PERSON_CSV_HEADER[index], reason: reason.to_string() }
}

/// Checks a name field and returns it as an owned string.
fn validate_name(name: &str, may_be_empty: bool) -> Result<String, &'static str> {
    if name.is_empty() {
        return if may_be_empty { Ok(String::new()) } else { Err("name must not be empty") };
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("name must have at most 60 characters");
    }
    if !name.chars().all(|character| character.is_alphabetic() || matches!(character, ' ' | '\'' | '’' | '-')) {
        return Err("name may contain only letters, spaces, apostrophes and hyphens");
    }
    if !name.chars().any(char::is_alphabetic) {
        return Err("name must contain at least one letter");
    }
    Ok(name.to_owned())
}

/// Checks a Mexican phone number: `+52` followed by ten digits, optionally
/// separated by single spaces.
fn validate_phone(phone: &str) -> Result<String, &'static str> {
    let Some(rest) = phone.strip_prefix("+52") else {
        return Err("phone must start with +52");
    };
    if !rest.chars().all(|character| character.is_ascii_digit() || character == ' ') {
        return Err("phone may contain only digits and spaces after +52");
    }
    if rest.contains("  ") {
        return Err("phone must not contain consecutive spaces");
    }
    if rest.bytes().filter(u8::is_ascii_digit).count() != 10 {
        return Err("phone must have ten digits after +52");
    }
    Ok(phone.to_owned())
}

/// Checks an e-mail address with a deliberately small ASCII grammar.
fn validate_email(email: &str) -> Result<String, &'static str> {
    if email.len() > MAX_EMAIL_CHARS {
        return Err("e-mail address must have at most 254 characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("e-mail address must contain @");
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'+' | b'-'))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err("e-mail local part must be 1 to 64 ASCII letters, digits or . _ + -");
    }
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !domain_ok {
        return Err("e-mail domain must be dot-separated ASCII labels");
    }
    Ok(email.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn valid_fields() -> [String; 14] {
        [
            "SABC560626MDFLRN01",
            "María del Carmen",
            "Sánchez",
            "Peña",
            "1956-06-26",
            "M",
            "DF",
            "SNPXCR56062609M123",
            "123456789",
            "1234567890123",
            "01",
            "+52 555 012 3456",
            "maria.sanchez12@example.org",
            "vigente",
        ]
        .map(str::to_owned)
    }

    fn with_field(index: usize, value: &str) -> [String; 14] {
        let mut fields = valid_fields();
        fields[index] = value.to_owned();
        fields
    }

    fn column_error(fields: &[String]) -> (&'static str, String) {
        match Person::from_csv_fields(fields) {
            Err(RowError::InvalidField { column, reason }) => (column, reason),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn valid_row_round_trips() {
        let person = Person::from_csv_fields(&valid_fields()).unwrap();
        assert_eq!(person.second_surname, "Peña");
        assert_eq!(person.to_csv_fields(), valid_fields());
    }

    #[test]
    fn accepts_str_slices() {
        let owned = valid_fields();
        let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert!(Person::from_csv_fields(&borrowed).is_ok());
    }

    #[test]
    fn rejects_wrong_column_count() {
        assert_eq!(
            Person::from_csv_fields(&valid_fields()[..13]),
            Err(RowError::WrongColumnCount { found: 13, expected: 14 })
        );
    }

    #[test]
    fn names_each_invalid_column() {
        let cases: [(usize, &str); 14] = [
            (0, "SABC560626MDFLRN02"),
            (1, ""),
            (2, "Sánchez2"),
            (3, "Peña!"),
            (4, "1956-02-30"),
            (5, "F"),
            (6, "XX"),
            (7, "SNPXCR56062609F123"),
            (8, "12345678"),
            (9, "123456789012"),
            (10, "1"),
            (11, "555 012 3456"),
            (12, "maria.example.org"),
            (13, "active"),
        ];
        for (index, value) in cases {
            let (column, reason) = column_error(&with_field(index, value));
            assert_eq!(column, PERSON_CSV_HEADER[index]);
            // Short values such as "1" may coincide with digits in the reason.
            assert!(value.len() <= 3 || !reason.contains(value), "{reason}");
        }
    }

    #[test]
    fn error_messages_never_contain_the_value() {
        let error = Person::from_csv_fields(&with_field(0, "SABC560626MDFLRN02")).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("curp"));
        assert!(message.contains("check digit"));
        assert!(!message.contains("SABC"));
    }

    #[test]
    fn cross_checks_curp_against_columns() {
        assert_eq!(column_error(&with_field(4, "1956-06-27")).0, "curp");
        assert_eq!(column_error(&with_field(5, "H")).0, "curp");
        assert_eq!(column_error(&with_field(6, "JC")).0, "curp");
    }

    #[test]
    fn cross_checks_clave_elector_against_columns() {
        assert_eq!(column_error(&with_field(7, "SNPXCR56062709M123")).0, "clave_elector");
        assert_eq!(column_error(&with_field(7, "SNPXCR56062609H123")).0, "clave_elector");
    }

    #[test]
    fn name_rules() {
        assert!(validate_name("María-José O'Neil", false).is_ok());
        assert!(validate_name("Nguyễn", false).is_ok());
        assert!(validate_name("", true).is_ok());
        assert!(validate_name("", false).is_err());
        assert!(validate_name("' -", false).is_err());
        assert!(validate_name(&"a".repeat(60), false).is_ok());
        assert!(validate_name(&"a".repeat(61), false).is_err());
        assert!(validate_name("Ana\tLuisa", false).is_err());
    }

    #[test]
    fn trims_fields() {
        let person = Person::from_csv_fields(&with_field(1, "  María del Carmen ")).unwrap();
        assert_eq!(person.given_names, "María del Carmen");
    }

    #[test]
    fn phone_rules() {
        assert!(validate_phone("+52 555 012 3456").is_ok());
        assert!(validate_phone("+525550123456").is_ok());
        assert!(validate_phone("+52 555 012 345").is_err());
        assert!(validate_phone("+52 555  012 3456").is_err());
        assert!(validate_phone("+1 555 012 3456").is_err());
        assert!(validate_phone("+52-555-012-3456").is_err());
    }

    #[test]
    fn email_rules() {
        assert!(validate_email("ana.lopez7@example.com").is_ok());
        assert!(validate_email("ana@example").is_err());
        assert!(validate_email("@example.com").is_err());
        assert!(validate_email("ana@@example.com").is_err());
        assert!(validate_email("añа@example.com").is_err());
        assert!(validate_email("ana..b@example.com").is_err());
        assert!(validate_email("ana@-example.com").is_err());
        assert!(validate_email("ana@example..com").is_err());
    }
}
