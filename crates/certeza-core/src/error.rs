//! The error types of the crate.
//!
//! Every parser returns a small, field-specific error enum, and all of them
//! nest inside the crate-wide [`Error`] enum. Error messages are in English
//! and never repeat the rejected input: they name positions, lengths and
//! computed check digits only, so that logging an error can never leak
//! personal data.

use thiserror::Error as ThisError;

/// The crate-wide error type, nesting the error of each field type.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum Error {
    /// A CURP was rejected.
    #[error("invalid CURP: {0}")]
    Curp(#[from] CurpError),
    /// A clave de elector was rejected.
    #[error("invalid clave de elector: {0}")]
    ClaveElector(#[from] ClaveElectorError),
    /// A fixed-length digit string (CIC, OCR, emission number) was rejected.
    #[error("{0}")]
    DigitString(#[from] DigitStringError),
    /// A CLABE was rejected.
    #[error("invalid CLABE: {0}")]
    Clabe(#[from] ClabeError),
    /// A date was rejected.
    #[error("invalid date: {0}")]
    Date(#[from] DateError),
    /// A short code (sex, state, credential status) was rejected.
    #[error("{0}")]
    Code(#[from] CodeError),
    /// A CSV row could not be mapped to a person.
    #[error("invalid person row: {0}")]
    Row(#[from] RowError),
}

/// The reasons a CURP is rejected by [`crate::Curp::parse`] or cannot be
/// built by [`crate::build_curp`].
///
/// Positions are 1-based, as in the RENAPO documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum CurpError {
    /// The CURP does not have exactly 18 characters.
    #[error("CURP must have 18 characters, found {found}")]
    WrongLength {
        /// The number of characters found after trimming.
        found: usize,
    },
    /// A character is neither an uppercase ASCII letter nor a digit.
    #[error("character at position {position} is not an uppercase ASCII letter or digit")]
    InvalidCharacter {
        /// The 1-based position of the offending character.
        position: usize,
    },
    /// One of positions 1 to 4 is not a letter.
    #[error("positions 1 to 4 must be letters, position {position} is not")]
    NotLetters {
        /// The 1-based position of the offending character.
        position: usize,
    },
    /// Position 2 (first internal vowel of the first surname) is not a vowel or X.
    #[error("position 2 must be a vowel or X")]
    SecondLetterNotVowel,
    /// Positions 5 to 10 are not digits forming a real date in any century.
    #[error("positions 5 to 10 must be digits forming a real birth date")]
    InvalidDate,
    /// Positions 5 to 10 form a real date only in the century that position 17 does not indicate.
    #[error("positions 5 to 10 form a real date only in the other century than the one position 17 indicates")]
    HomonymyCenturyMismatch,
    /// Position 11 is not a valid sex code.
    #[error("position 11 (sex) must be H, M or X")]
    InvalidSex,
    /// Positions 12 and 13 are not a known state code.
    #[error("positions 12 and 13 are not a known state code")]
    UnknownState,
    /// One of positions 14 to 16 is not a consonant.
    #[error("positions 14 to 16 must be consonants, position {position} is not")]
    InvalidConsonants {
        /// The 1-based position of the offending character.
        position: usize,
    },
    /// Position 18 is not a digit.
    #[error("position 18 (check digit) must be a digit")]
    CheckDigitNotDigit,
    /// The check digit does not match the first 17 characters.
    #[error("check digit is {found}, expected {expected}")]
    CheckDigitMismatch {
        /// The check digit present in the CURP.
        found: u8,
        /// The check digit computed from the first 17 characters.
        expected: u8,
    },
    /// The birth year cannot be encoded in a CURP (builder only).
    #[error("birth year must be between 1900 and 2099 to be encoded in a CURP")]
    BirthYearOutOfRange,
    /// The homonymy character does not fit the birth century (builder only).
    #[error("homonymy character must be a digit for births before 2000 and an uppercase letter from 2000 on")]
    HomonymyNotValidForCentury,
}

/// The reasons a clave de elector is rejected by [`crate::ClaveElector::parse`].
///
/// Positions are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum ClaveElectorError {
    /// The clave does not have exactly 18 characters.
    #[error("clave de elector must have 18 characters, found {found}")]
    WrongLength {
        /// The number of characters found after trimming.
        found: usize,
    },
    /// A character is neither an uppercase ASCII letter nor a digit.
    #[error("character at position {position} is not an uppercase ASCII letter or digit")]
    InvalidCharacter {
        /// The 1-based position of the offending character.
        position: usize,
    },
    /// One of positions 1 to 6 is not a letter.
    #[error("positions 1 to 6 must be letters, position {position} is not")]
    NotLetters {
        /// The 1-based position of the offending character.
        position: usize,
    },
    /// Positions 7 to 12 are not digits forming a real date.
    #[error("positions 7 to 12 must be digits forming a real birth date")]
    InvalidDate,
    /// Positions 13 and 14 are not a state number from 01 to 32.
    #[error("positions 13 and 14 must be a state number from 01 to 32")]
    InvalidStateNumber,
    /// Position 15 is not a valid sex code.
    #[error("position 15 (sex) must be H, M or X")]
    InvalidSex,
    /// One of positions 16 to 18 is not a digit.
    #[error("positions 16 to 18 must be digits, position {position} is not")]
    NotDigits {
        /// The 1-based position of the offending character.
        position: usize,
    },
}

/// The reasons a fixed-length digit string (CIC, OCR, emission number) is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum DigitStringError {
    /// The string does not have the required number of characters.
    #[error("{field} must have {expected} digits, found {found} characters")]
    WrongLength {
        /// The name of the field, such as "CIC".
        field: &'static str,
        /// The number of characters found after trimming.
        found: usize,
        /// The required number of digits.
        expected: usize,
    },
    /// A character is not an ASCII digit.
    #[error("{field} character at position {position} is not a digit")]
    NotDigit {
        /// The name of the field, such as "CIC".
        field: &'static str,
        /// The 1-based position of the offending character.
        position: usize,
    },
}

/// The reasons a CLABE is rejected by [`crate::Clabe::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum ClabeError {
    /// The CLABE does not have exactly 18 characters.
    #[error("CLABE must have 18 digits, found {found} characters")]
    WrongLength {
        /// The number of characters found after trimming.
        found: usize,
    },
    /// A character is not an ASCII digit.
    #[error("character at position {position} is not a digit")]
    NotDigit {
        /// The 1-based position of the offending character.
        position: usize,
    },
    /// The first three digits are not a known bank code.
    #[error("the bank code (positions 1 to 3) is not in the bank table")]
    UnknownBank,
    /// The check digit does not match the first 17 digits.
    #[error("check digit is {found}, expected {expected}")]
    CheckDigitMismatch {
        /// The check digit present in the CLABE.
        found: u8,
        /// The check digit computed from the first 17 digits.
        expected: u8,
    },
}

/// The reasons a date is rejected by [`crate::Date::parse_iso`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum DateError {
    /// The text is not of the form YYYY-MM-DD.
    #[error("date must have the form YYYY-MM-DD")]
    BadFormat,
    /// The text has the right form but names a day that does not exist.
    #[error("date is not a real Gregorian calendar date")]
    NotARealDate,
}

/// The reasons a short code is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ThisError)]
pub enum CodeError {
    /// The sex code is not H, M or X.
    #[error("sex must be H, M or X")]
    InvalidSex,
    /// The state code is not one of the 33 CURP state codes.
    #[error("state must be one of the 33 two-letter CURP state codes")]
    UnknownStateCode,
    /// The credential status is not one of the known statuses.
    #[error("status must be one of vigente, reported_lost, reported_stolen, expired, replaced, cancelled")]
    UnknownCredentialStatus,
}

/// The reasons a CSV row cannot be mapped to a [`crate::Person`].
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
pub enum RowError {
    /// The row does not have the expected number of columns.
    #[error("row has {found} columns, expected {expected}")]
    WrongColumnCount {
        /// The number of columns found.
        found: usize,
        /// The number of columns expected.
        expected: usize,
    },
    /// A column has an invalid value, or disagrees with another column.
    #[error("column {column} is invalid: {reason}")]
    InvalidField {
        /// The header name of the offending column.
        column: &'static str,
        /// Why the value was rejected; never contains the value itself.
        reason: String,
    },
}
