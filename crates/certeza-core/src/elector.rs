//! Fields of the INE voter credential: clave de elector, CIC, OCR and emission number.

use std::fmt;
use std::str::FromStr;

use crate::curp::is_upper_alphanumeric;
use crate::date::Date;
use crate::error::{ClaveElectorError, DigitStringError};
use crate::person::{Sex, State};

/// The number of characters of a clave de elector.
pub const CLAVE_ELECTOR_LENGTH: usize = 18;

/// A validated clave de elector.
///
/// Its 18 characters are six letters derived from the names, the birth
/// date as `YYMMDD`, the state number `01`–`32`, the sex `H`, `M` or `X`,
/// and three digits. The century of the birth date is not encoded, so any
/// date that is real in the 1900s or the 2000s is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaveElector(String);

impl ClaveElector {
    /// Parses and validates a clave de elector, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<ClaveElector, ClaveElectorError> {
        let text = input.trim();
        if text.len() != CLAVE_ELECTOR_LENGTH || !text.is_ascii() {
            let found = text.chars().count();
            if found != CLAVE_ELECTOR_LENGTH {
                return Err(ClaveElectorError::WrongLength { found });
            }
            // Eighteen characters, not all of them ASCII.
            let index = text.chars().position(|character| !is_upper_alphanumeric(character));
            return Err(ClaveElectorError::InvalidCharacter { position: index.map_or(1, |index| index + 1) });
        }
        let bytes = text.as_bytes();
        if let Some(index) = bytes.iter().position(|byte| !(byte.is_ascii_uppercase() || byte.is_ascii_digit())) {
            return Err(ClaveElectorError::InvalidCharacter { position: index + 1 });
        }
        if let Some(index) = bytes[0..6].iter().position(|byte| !byte.is_ascii_uppercase()) {
            return Err(ClaveElectorError::NotLetters { position: index + 1 });
        }
        let date_digits = &bytes[6..12];
        if !date_digits.iter().all(u8::is_ascii_digit) {
            return Err(ClaveElectorError::InvalidDate);
        }
        let two = |index: usize| (bytes[index] - b'0') * 10 + (bytes[index + 1] - b'0');
        let (year, month, day) = (u16::from(two(6)), two(8), two(10));
        if Date::new(1900 + year, month, day).is_none() && Date::new(2000 + year, month, day).is_none() {
            return Err(ClaveElectorError::InvalidDate);
        }
        if !(bytes[12].is_ascii_digit() && bytes[13].is_ascii_digit()) || State::from_inegi_number(two(12)).is_none() {
            return Err(ClaveElectorError::InvalidStateNumber);
        }
        if Sex::from_ascii(bytes[14]).is_none() {
            return Err(ClaveElectorError::InvalidSex);
        }
        if let Some(index) = bytes[15..18].iter().position(|byte| !byte.is_ascii_digit()) {
            return Err(ClaveElectorError::NotDigits { position: index + 16 });
        }
        Ok(ClaveElector(text.to_owned()))
    }

    /// Wraps text that the caller guarantees to be a valid clave de elector.
    pub(crate) fn from_trusted(text: String) -> ClaveElector {
        debug_assert!(ClaveElector::parse(&text).is_ok());
        ClaveElector(text)
    }

    /// The clave text (18 uppercase ASCII characters).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six digits `YYMMDD` of the birth date (positions 7 to 12).
    #[must_use]
    pub fn birth_yymmdd(&self) -> &str {
        &self.0[6..12]
    }

    /// Whether the encoded `YYMMDD` matches the given date.
    #[must_use]
    pub fn matches_birth_date(&self, date: Date) -> bool {
        let digits = self.birth_yymmdd().as_bytes();
        let two = |index: usize| (digits[index] - b'0') * 10 + (digits[index + 1] - b'0');
        u16::from(two(0)) == date.year() % 100 && two(2) == date.month() && two(4) == date.day()
    }

    /// The state of registration (positions 13 and 14).
    #[must_use]
    pub fn state(&self) -> State {
        let bytes = self.0.as_bytes();
        let number = (bytes[12] - b'0') * 10 + (bytes[13] - b'0');
        // Parsing guarantees the number is within 1..=32.
        State::from_inegi_number(number).unwrap_or(State::NacidoEnElExtranjero)
    }

    /// The sex marker (position 15).
    #[must_use]
    pub fn sex(&self) -> Sex {
        // Parsing guarantees the byte is H, M or X.
        Sex::from_ascii(self.0.as_bytes()[14]).unwrap_or(Sex::X)
    }
}

/// Declares a newtype over a string of exactly `$length` ASCII digits.
macro_rules! digit_string_type {
    ($(#[$meta:meta])* $name:ident, $field:literal, $length:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The number of digits.
            pub const LENGTH: usize = $length;

            /// Parses exactly the required number of ASCII digits, ignoring
            /// surrounding whitespace.
            pub fn parse(input: &str) -> Result<$name, DigitStringError> {
                parse_digit_string(input, $field, $length).map($name)
            }

            /// Wraps text that the caller guarantees to be valid.
            #[allow(dead_code)]
            pub(crate) fn from_trusted(text: String) -> $name {
                debug_assert!($name::parse(&text).is_ok());
                $name(text)
            }

            /// The digits as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = DigitStringError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                $name::parse(input)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

digit_string_type!(
    /// The CIC (Código de Identificación de Credencial): exactly 9 digits.
    Cic,
    "CIC",
    9
);

digit_string_type!(
    /// The OCR number printed on the back of the credential: exactly 13 digits.
    Ocr,
    "OCR",
    13
);

digit_string_type!(
    /// The credential's emission number: exactly 2 digits, "00" to "99".
    EmissionNumber,
    "emission number",
    2
);

/// Validates a string of exactly `length` ASCII digits.
fn parse_digit_string(input: &str, field: &'static str, length: usize) -> Result<String, DigitStringError> {
    let text = input.trim();
    if text.len() == length && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(text.to_owned());
    }
    let found = text.chars().count();
    if found != length {
        return Err(DigitStringError::WrongLength { field, found, expected: length });
    }
    if let Some(index) = text.bytes().position(|byte| !byte.is_ascii_digit()) {
        return Err(DigitStringError::NotDigit { field, position: index + 1 });
    }
    Ok(text.to_owned())
}

impl fmt::Display for ClaveElector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for ClaveElector {
    type Err = ClaveElectorError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        ClaveElector::parse(input)
    }
}

impl AsRef<str> for ClaveElector {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const VALID: &str = "GMVLMR80070501M100";

    #[test]
    fn parses_valid_clave() {
        let clave = ClaveElector::parse(VALID).unwrap();
        assert_eq!(clave.as_str(), VALID);
        assert_eq!(clave.state(), State::Aguascalientes);
        assert_eq!(clave.sex(), Sex::M);
        assert_eq!(clave.birth_yymmdd(), "800705");
        assert!(clave.matches_birth_date(Date::new(1980, 7, 5).unwrap()));
        assert!(!clave.matches_birth_date(Date::new(1980, 7, 6).unwrap()));
        assert_eq!(ClaveElector::parse(" GMVLMR80070501M100 ").unwrap(), clave);
    }

    #[test]
    fn accepts_dates_real_in_either_century() {
        // 29 February exists in 2000 but not in 1900.
        assert!(ClaveElector::parse("GMVLMR00022901H100").is_ok());
        // 29 February 1929 and 2029 are both impossible.
        assert_eq!(ClaveElector::parse("GMVLMR29022901H100"), Err(ClaveElectorError::InvalidDate));
    }

    #[test]
    fn rejects_each_structural_error() {
        let cases = [
            ("GMVLMR80070501M10", ClaveElectorError::WrongLength { found: 17 }),
            ("GMVLMr80070501M100", ClaveElectorError::InvalidCharacter { position: 6 }),
            ("GMVLMÑ80070501M100", ClaveElectorError::InvalidCharacter { position: 6 }),
            ("GMVLMÑ8007051M100", ClaveElectorError::WrongLength { found: 17 }),
            ("GMVLM180070501M100", ClaveElectorError::NotLetters { position: 6 }),
            ("GMVLMR8007A501M100", ClaveElectorError::InvalidDate),
            ("GMVLMR80130501M100", ClaveElectorError::InvalidDate),
            ("GMVLMR80070500M100", ClaveElectorError::InvalidStateNumber),
            ("GMVLMR80070533M100", ClaveElectorError::InvalidStateNumber),
            ("GMVLMR800705A1M100", ClaveElectorError::InvalidStateNumber),
            ("GMVLMR80070501F100", ClaveElectorError::InvalidSex),
            ("GMVLMR80070501M1A0", ClaveElectorError::NotDigits { position: 17 }),
        ];
        for (input, expected) in cases {
            assert_eq!(ClaveElector::parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn digit_strings_have_exact_lengths() {
        assert_eq!(Cic::parse("123456789").unwrap().as_str(), "123456789");
        assert_eq!(Ocr::parse("1234567890123").unwrap().as_str(), "1234567890123");
        assert_eq!(EmissionNumber::parse("00").unwrap().as_str(), "00");
        assert_eq!(EmissionNumber::parse("99").unwrap().to_string(), "99");
        assert_eq!(Cic::parse("12345678"), Err(DigitStringError::WrongLength { field: "CIC", found: 8, expected: 9 }));
        assert_eq!(
            Ocr::parse("12345678901234"),
            Err(DigitStringError::WrongLength { field: "OCR", found: 14, expected: 13 })
        );
        assert_eq!(
            EmissionNumber::parse("1a"),
            Err(DigitStringError::NotDigit { field: "emission number", position: 2 })
        );
        assert_eq!(Cic::parse("12345678٣"), Err(DigitStringError::NotDigit { field: "CIC", position: 9 }));
    }

    #[test]
    fn digit_string_errors_do_not_echo_input() {
        let message = Cic::parse("98765x321").unwrap_err().to_string();
        assert!(message.contains("CIC"));
        assert!(!message.contains("98765"));
    }
}
