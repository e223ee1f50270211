//! The CLABE (Clave Bancaria Estandarizada), Mexico's 18-digit bank account number.
//!
//! Digits 1–3 are the bank code, 4–6 the plaza (city) code, 7–17 the
//! account number and 18 the check digit.

use std::fmt;
use std::str::FromStr;

use crate::error::ClabeError;

/// The number of digits of a CLABE.
pub const CLABE_LENGTH: usize = 18;

/// Bank codes (the first three CLABE digits) and the short names under
/// which the banks participate in SPEI, sorted by code.
pub const BANKS: [(&str, &str); 64] = [
    ("002", "BANAMEX"),
    ("006", "BANCOMEXT"),
    ("009", "BANOBRAS"),
    ("012", "BBVA MEXICO"),
    ("014", "SANTANDER"),
    ("019", "BANJERCITO"),
    ("021", "HSBC"),
    ("030", "BAJIO"),
    ("036", "INBURSA"),
    ("042", "MIFEL"),
    ("044", "SCOTIABANK"),
    ("058", "BANREGIO"),
    ("059", "INVEX"),
    ("060", "BANSI"),
    ("062", "AFIRME"),
    ("072", "BANORTE"),
    ("106", "BANK OF AMERICA"),
    ("108", "MUFG"),
    ("110", "JP MORGAN"),
    ("112", "BMONEX"),
    ("113", "VE POR MAS"),
    ("127", "AZTECA"),
    ("128", "AUTOFIN"),
    ("129", "BARCLAYS"),
    ("130", "COMPARTAMOS"),
    ("132", "MULTIVA BANCO"),
    ("133", "ACTINVER"),
    ("135", "NAFIN"),
    ("136", "INTERCAM BANCO"),
    ("137", "BANCOPPEL"),
    ("138", "ABC CAPITAL"),
    ("140", "CONSUBANCO"),
    ("141", "VOLKSWAGEN"),
    ("143", "CIBANCO"),
    ("145", "BBASE"),
    ("147", "BANKAOOL"),
    ("148", "PAGATODO"),
    ("150", "INMOBILIARIO"),
    ("151", "DONDE"),
    ("152", "BANCREA"),
    ("154", "BANCO COVALTO"),
    ("155", "ICBC"),
    ("156", "SABADELL"),
    ("157", "SHINHAN"),
    ("158", "MIZUHO BANK"),
    ("159", "BANK OF CHINA"),
    ("160", "BANCO S3"),
    ("166", "BANCO DEL BIENESTAR"),
    ("168", "HIPOTECARIA FEDERAL"),
    ("600", "MONEXCB"),
    ("601", "GBM"),
    ("602", "MASARI"),
    ("605", "VALUE"),
    ("608", "VECTOR"),
    ("616", "FINAMEX"),
    ("617", "VALMEX"),
    ("620", "PROFUTURO"),
    ("634", "FINCOMUN"),
    ("638", "NU MEXICO"),
    ("646", "STP"),
    ("652", "CREDICAPITAL"),
    ("653", "KUSPIT"),
    ("699", "FONDEADORA"),
    ("722", "MERCADO PAGO W"),
];

/// Returns the short name of the bank with the given three-digit code.
#[must_use]
pub fn bank_name_for_code(code: &str) -> Option<&'static str> {
    BANKS.binary_search_by(|(table_code, _)| (*table_code).cmp(code)).ok().map(|index| BANKS[index].1)
}

/// Computes the CLABE check digit of the first 17 digits.
///
/// Each digit is multiplied by the repeating weights 3, 7, 1 and reduced
/// modulo 10; with `s` the sum of those products, the check digit is
/// `(10 - s mod 10) mod 10`. Returns `None` unless the input is exactly 17
/// ASCII digits.
#[must_use]
pub fn clabe_check_digit(first17: &str) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [3, 7, 1];
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (index, byte) in bytes.iter().enumerate() {
        if !byte.is_ascii_digit() {
            return None;
        }
        sum += (u32::from(byte - b'0') * WEIGHTS[index % 3]) % 10;
    }
    // The result is always below 10, so the narrowing is lossless.
    Some(((10 - sum % 10) % 10) as u8)
}

/// A validated CLABE whose bank code is in [`BANKS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Clabe(String);

impl Clabe {
    /// Parses and validates a CLABE, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<Clabe, ClabeError> {
        let text = input.trim();
        let found = text.chars().count();
        if found != CLABE_LENGTH {
            return Err(ClabeError::WrongLength { found });
        }
        if let Some(index) = text.bytes().position(|byte| !byte.is_ascii_digit()) {
            return Err(ClabeError::NotDigit { position: index + 1 });
        }
        if bank_name_for_code(&text[0..3]).is_none() {
            return Err(ClabeError::UnknownBank);
        }
        let expected = clabe_check_digit(&text[0..17]).ok_or(ClabeError::NotDigit { position: CLABE_LENGTH })?;
        let found = text.as_bytes()[17] - b'0';
        if found != expected {
            return Err(ClabeError::CheckDigitMismatch { found, expected });
        }
        Ok(Clabe(text.to_owned()))
    }

    /// The 18 digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-digit bank code.
    #[must_use]
    pub fn bank_code(&self) -> &str {
        &self.0[0..3]
    }

    /// The bank's short name from [`BANKS`].
    #[must_use]
    pub fn bank_name(&self) -> &'static str {
        // Parsing guarantees that the bank code is in the table.
        bank_name_for_code(self.bank_code()).unwrap_or("UNKNOWN")
    }

    /// The three-digit plaza (city) code.
    #[must_use]
    pub fn plaza_code(&self) -> &str {
        &self.0[3..6]
    }

    /// The eleven-digit account number.
    #[must_use]
    pub fn account_number(&self) -> &str {
        &self.0[6..17]
    }

    /// The check digit.
    #[must_use]
    pub fn check_digit(&self) -> u8 {
        self.0.as_bytes()[17] - b'0'
    }
}

impl fmt::Display for Clabe {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for Clabe {
    type Err = ClabeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Clabe::parse(input)
    }
}

impl AsRef<str> for Clabe {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn bank_table_is_sorted_unique_and_large() {
        assert!(BANKS.len() >= 40);
        for pair in BANKS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (code, name) in BANKS {
            assert_eq!(code.len(), 3);
            assert!(code.bytes().all(|byte| byte.is_ascii_digit()));
            assert_eq!(bank_name_for_code(code), Some(name));
        }
        assert_eq!(bank_name_for_code("012"), Some("BBVA MEXICO"));
        assert_eq!(bank_name_for_code("638"), Some("NU MEXICO"));
        assert_eq!(bank_name_for_code("999"), None);
    }

    #[test]
    fn parses_public_vector() {
        let clabe = Clabe::parse("002010077777777771").unwrap();
        assert_eq!(clabe.bank_name(), "BANAMEX");
        assert_eq!(clabe.bank_code(), "002");
        assert_eq!(clabe.plaza_code(), "010");
        assert_eq!(clabe.account_number(), "07777777777");
        assert_eq!(clabe.check_digit(), 1);
    }

    #[test]
    fn check_digit_needs_17_digits() {
        assert_eq!(clabe_check_digit("00201007777777777"), Some(1));
        assert_eq!(clabe_check_digit("0020100777777777"), None);
        assert_eq!(clabe_check_digit("0020100777777777a"), None);
        assert_eq!(clabe_check_digit("002010077777777771"), None);
    }

    #[test]
    fn rejects_each_error() {
        assert_eq!(Clabe::parse("00201007777777777"), Err(ClabeError::WrongLength { found: 17 }));
        assert_eq!(Clabe::parse("00201007777777777x"), Err(ClabeError::NotDigit { position: 18 }));
        assert_eq!(Clabe::parse("999010077777777771"), Err(ClabeError::UnknownBank));
        let error = Clabe::parse("002010077777777772").unwrap_err();
        assert_eq!(error, ClabeError::CheckDigitMismatch { found: 2, expected: 1 });
        assert!(!error.to_string().contains("0020100"));
    }
}
