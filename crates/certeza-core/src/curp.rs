//! The CURP (Clave Única de Registro de Población): parsing, check digit and construction.
//!
//! A CURP has 18 characters:
//!
//! | positions | content |
//! |-----------|---------|
//! | 1–4   | first letter and first internal vowel of the first surname, first letter of the second surname, first letter of the given name |
//! | 5–10  | birth date as `YYMMDD` |
//! | 11    | sex: `H`, `M` or `X` |
//! | 12–13 | birth state code, or `NE` for births abroad |
//! | 14–16 | first internal consonants of the first surname, second surname and given name |
//! | 17    | homonymy character: a digit for births up to 1999, a letter from 2000 |
//! | 18    | check digit |

use std::fmt;
use std::str::FromStr;

use crate::date::Date;
use crate::error::CurpError;
use crate::person::{Sex, State};

/// A validated CURP.
///
/// The birth date, sex and state encoded in the CURP are decoded once
/// during parsing and kept alongside the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Curp {
    text: String,
    birth_date: Date,
    sex: Sex,
    state: State,
}

/// The number of characters of a CURP.
pub const CURP_LENGTH: usize = 18;

impl Curp {
    /// Parses and validates a CURP.
    ///
    /// Surrounding whitespace is ignored; only uppercase ASCII letters and
    /// digits are accepted. Every structural rule and the check digit are
    /// verified, and each failure has its own [`CurpError`] variant.
    pub fn parse(input: &str) -> Result<Curp, CurpError> {
        let text = input.trim();
        if text.len() != CURP_LENGTH || !text.is_ascii() {
            let found = text.chars().count();
            if found != CURP_LENGTH {
                return Err(CurpError::WrongLength { found });
            }
            // Eighteen characters, not all of them ASCII.
            let index = text.chars().position(|character| !is_upper_alphanumeric(character));
            return Err(CurpError::InvalidCharacter { position: index.map_or(1, |index| index + 1) });
        }
        let bytes = text.as_bytes();
        if let Some(index) = bytes.iter().position(|byte| !(byte.is_ascii_uppercase() || byte.is_ascii_digit())) {
            return Err(CurpError::InvalidCharacter { position: index + 1 });
        }
        if let Some(index) = bytes[0..4].iter().position(|byte| !byte.is_ascii_uppercase()) {
            return Err(CurpError::NotLetters { position: index + 1 });
        }
        if !is_curp_vowel(bytes[1]) {
            return Err(CurpError::SecondLetterNotVowel);
        }
        let birth_date = decode_birth_date(&bytes[4..10], bytes[16])?;
        let sex = Sex::from_ascii(bytes[10]).ok_or(CurpError::InvalidSex)?;
        let state = State::from_curp_code_bytes(&bytes[11..13]).ok_or(CurpError::UnknownState)?;
        if let Some(index) = bytes[13..16].iter().position(|byte| !is_curp_consonant(*byte)) {
            return Err(CurpError::InvalidConsonants { position: index + 14 });
        }
        if !bytes[17].is_ascii_digit() {
            return Err(CurpError::CheckDigitNotDigit);
        }
        let found = bytes[17] - b'0';
        let expected =
            check_digit_of_ascii(&bytes[0..17]).ok_or(CurpError::InvalidCharacter { position: CURP_LENGTH })?;
        if found != expected {
            return Err(CurpError::CheckDigitMismatch { found, expected });
        }
        Ok(Curp { text: text.to_owned(), birth_date, sex, state })
    }

    /// Builds a CURP from already-validated parts without re-parsing.
    ///
    /// The caller guarantees that `text` is a valid CURP whose decoded
    /// fields are `birth_date`, `sex` and `state`.
    pub(crate) fn from_trusted_parts(text: String, birth_date: Date, sex: Sex, state: State) -> Curp {
        debug_assert_eq!(Curp::parse(&text).map(|curp| curp.text), Ok(text.clone()));
        Curp { text, birth_date, sex, state }
    }

    /// The CURP text (18 uppercase ASCII characters).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The birth date encoded in positions 5 to 10, with the century taken from position 17.
    #[must_use]
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// The sex encoded in position 11.
    #[must_use]
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// The birth state encoded in positions 12 and 13.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// The homonymy character (position 17).
    #[must_use]
    pub fn homonymy(&self) -> char {
        char::from(self.text.as_bytes()[16])
    }

    /// The check digit (position 18).
    #[must_use]
    pub fn check_digit(&self) -> u8 {
        self.text.as_bytes()[17] - b'0'
    }

    /// Consumes the CURP and returns its text.
    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }
}

impl fmt::Display for Curp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl AsRef<str> for Curp {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl FromStr for Curp {
    type Err = CurpError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Curp::parse(input)
    }
}

/// Decodes the `YYMMDD` digits with the century implied by the homonymy character.
fn decode_birth_date(digits: &[u8], homonymy: u8) -> Result<Date, CurpError> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(CurpError::InvalidDate);
    }
    let two = |index: usize| (digits[index] - b'0') * 10 + (digits[index + 1] - b'0');
    let (year, month, day) = (u16::from(two(0)), two(2), two(4));
    let (century, other_century) = if homonymy.is_ascii_digit() { (1900, 2000) } else { (2000, 1900) };
    match Date::new(century + year, month, day) {
        Some(date) => Ok(date),
        None if Date::new(other_century + year, month, day).is_some() => Err(CurpError::HomonymyCenturyMismatch),
        None => Err(CurpError::InvalidDate),
    }
}

/// Whether the character is an uppercase ASCII letter or an ASCII digit.
pub(crate) fn is_upper_alphanumeric(character: char) -> bool {
    character.is_ascii_uppercase() || character.is_ascii_digit()
}

/// Whether the byte is allowed in position 2: a vowel, or `X` when the surname has none.
fn is_curp_vowel(byte: u8) -> bool {
    matches!(byte, b'A' | b'E' | b'I' | b'O' | b'U' | b'X')
}

/// Whether the byte is an uppercase ASCII consonant (`X` included).
fn is_curp_consonant(byte: u8) -> bool {
    byte.is_ascii_uppercase() && !matches!(byte, b'A' | b'E' | b'I' | b'O' | b'U')
}

/// The value of a character in the CURP check-digit alphabet
/// `0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ`.
fn curp_character_value(character: char) -> Option<u32> {
    match character {
        '0'..='9' => Some(u32::from(character) - u32::from('0')),
        'A'..='N' => Some(u32::from(character) - u32::from('A') + 10),
        'Ñ' => Some(24),
        'O'..='Z' => Some(u32::from(character) - u32::from('O') + 25),
        _ => None,
    }
}

/// Computes the CURP check digit of the first 17 characters.
///
/// Each character's value in the alphabet `0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ`
/// (so `A` = 10, `N` = 23, `Ñ` = 24, `O` = 25, `Z` = 36) is multiplied by
/// 18 minus its 0-based index; the digit is `(10 - sum mod 10) mod 10`.
/// Returns `None` unless the input has exactly 17 characters of that alphabet.
#[must_use]
pub fn curp_check_digit(first17: &str) -> Option<u8> {
    let mut sum = 0u32;
    let mut count = 0u32;
    for character in first17.chars() {
        if count == 17 {
            return None;
        }
        sum += curp_character_value(character)? * (18 - count);
        count += 1;
    }
    (count == 17).then(|| digit_from_sum(sum))
}

/// Computes the check digit of 17 ASCII bytes.
pub(crate) fn check_digit_of_ascii(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (index, byte) in (0u32..).zip(first17) {
        sum += curp_character_value(char::from(*byte))? * (18 - index);
    }
    Some(digit_from_sum(sum))
}

/// Turns a weighted sum into the final check digit.
fn digit_from_sum(sum: u32) -> u8 {
    // The result is always below 10, so the narrowing is lossless.
    ((10 - sum % 10) % 10) as u8
}

/// Four-letter words that RENAPO does not allow at the start of a CURP.
///
/// When the first four letters form one of them, the second letter is
/// replaced by `X`. This is a representative subset of RENAPO's list.
pub const INCONVENIENT_WORDS: [&str; 44] = [
    "BACA", "BAKA", "BUEI", "BUEY", "CACA", "CACO", "CAGA", "CAGO", "CAKA", "CAKO", "COGE", "COJA", "COJE", "COJI",
    "COJO", "CULO", "FETO", "GUEY", "JOTO", "KACA", "KACO", "KAGA", "KAGO", "KOGE", "KOJO", "KAKA", "KULO", "MAME",
    "MAMO", "MEAR", "MEAS", "MEON", "MION", "MOCO", "MULA", "PEDA", "PEDO", "PENE", "PUTA", "PUTO", "QULO", "RATA",
    "RUIN", "VUEY",
];

/// Particles skipped at the start of compound names ("de la Cruz" uses CRUZ).
const NAME_PARTICLES: [&str; 19] = [
    "DA", "DAS", "DE", "DEL", "DER", "DI", "DIE", "DD", "EL", "LA", "LOS", "LAS", "LE", "LES", "MAC", "MC", "VAN",
    "VON", "Y",
];

/// Very common first given names skipped when the person has more than one.
const SKIPPED_GIVEN_NAMES: [&str; 5] = ["JOSE", "J", "MARIA", "MA", "M"];

/// Folds one character of a name into an uppercase ASCII letter.
///
/// Accents are stripped, `Ñ` becomes `X` (as RENAPO does), other letters
/// outside A–Z become `X`, apostrophes and dots are dropped, and anything
/// else separates words.
enum FoldedCharacter {
    Letter(u8),
    Dropped,
    Separator,
}

fn fold_name_character(character: char) -> FoldedCharacter {
    let letter = match character {
        'a'..='z' => character.to_ascii_uppercase(),
        'A'..='Z' => character,
        'á' | 'à' | 'ä' | 'â' | 'ã' | 'Á' | 'À' | 'Ä' | 'Â' | 'Ã' => 'A',
        'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' | 'Ë' | 'Ê' => 'E',
        'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'I',
        'ó' | 'ò' | 'ö' | 'ô' | 'õ' | 'Ó' | 'Ò' | 'Ö' | 'Ô' | 'Õ' => 'O',
        'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'U',
        'ç' | 'Ç' => 'C',
        '\'' | '’' | '.' => return FoldedCharacter::Dropped,
        other if other.is_alphabetic() => 'X',
        _ => return FoldedCharacter::Separator,
    };
    // Every branch above yields an ASCII uppercase letter.
    FoldedCharacter::Letter(letter as u8)
}

/// Splits a name into uppercase ASCII words.
pub(crate) fn normalized_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for character in name.chars() {
        match fold_name_character(character) {
            FoldedCharacter::Letter(letter) => current.push(char::from(letter)),
            FoldedCharacter::Dropped => {}
            FoldedCharacter::Separator => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Drops leading particles while more than one word remains.
fn skip_particles(words: &[String]) -> &[String] {
    let mut start = 0;
    while start + 1 < words.len() && NAME_PARTICLES.contains(&words[start].as_str()) {
        start += 1;
    }
    &words[start..]
}

/// The word of a surname that the CURP uses, if the surname has any letters.
pub(crate) fn surname_word(surname: &str) -> Option<String> {
    let words = normalized_words(surname);
    skip_particles(&words).first().cloned()
}

/// The word of the given names that the CURP uses: compound names starting
/// with JOSE or MARIA use the next name.
pub(crate) fn given_name_word(given_names: &str) -> Option<String> {
    let words = normalized_words(given_names);
    let mut remaining: &[String] = &words;
    if remaining.len() > 1 && SKIPPED_GIVEN_NAMES.contains(&remaining[0].as_str()) {
        remaining = &remaining[1..];
    }
    skip_particles(remaining).first().cloned()
}

/// The letters of one name that a CURP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct WordKey {
    /// The first letter, or `X` without a word.
    pub(crate) first: u8,
    /// The first vowel after the first letter, or `X`.
    pub(crate) vowel: u8,
    /// The first consonant after the first letter, or `X`.
    pub(crate) consonant: u8,
}

impl WordKey {
    /// Extracts the key of a normalised word (uppercase ASCII letters).
    pub(crate) fn of(word: Option<&str>) -> WordKey {
        let Some(bytes) = word.map(str::as_bytes).filter(|bytes| !bytes.is_empty()) else {
            return WordKey { first: b'X', vowel: b'X', consonant: b'X' };
        };
        let rest = &bytes[1..];
        WordKey {
            first: bytes[0],
            vowel: rest.iter().copied().find(|byte| matches!(byte, b'A' | b'E' | b'I' | b'O' | b'U')).unwrap_or(b'X'),
            consonant: rest.iter().copied().find(|byte| is_curp_consonant(*byte)).unwrap_or(b'X'),
        }
    }
}

/// The seven name-derived characters of a CURP: positions 1–4 and 14–16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CurpNameLetters {
    pub(crate) initials: [u8; 4],
    pub(crate) consonants: [u8; 3],
}

impl CurpNameLetters {
    /// Combines the keys of the three names, applying the inconvenient-word rule.
    pub(crate) fn from_keys(first: WordKey, second: WordKey, given: WordKey) -> CurpNameLetters {
        let mut initials = [first.first, first.vowel, second.first, given.first];
        if INCONVENIENT_WORDS.iter().any(|word| word.as_bytes() == initials) {
            initials[1] = b'X';
        }
        CurpNameLetters { initials, consonants: [first.consonant, second.consonant, given.consonant] }
    }

    /// Computes the letters from the three names as written.
    pub(crate) fn from_names(first_surname: &str, second_surname: &str, given_names: &str) -> CurpNameLetters {
        CurpNameLetters::from_keys(
            WordKey::of(surname_word(first_surname).as_deref()),
            WordKey::of(surname_word(second_surname).as_deref()),
            WordKey::of(given_name_word(given_names).as_deref()),
        )
    }
}

/// Assembles a CURP from its name letters and the other fields.
///
/// The caller guarantees that the birth year is within 1900..=2099 and the
/// homonymy byte fits the century.
pub(crate) fn assemble_curp(letters: CurpNameLetters, birth: Date, sex: Sex, state: State, homonymy: u8) -> Curp {
    let mut text = String::with_capacity(CURP_LENGTH);
    for byte in letters.initials {
        text.push(char::from(byte));
    }
    birth.push_yymmdd(&mut text);
    text.push(sex.as_char());
    text.push_str(state.curp_code());
    for byte in letters.consonants {
        text.push(char::from(byte));
    }
    text.push(char::from(homonymy));
    let check = check_digit_of_ascii(text.as_bytes()).unwrap_or(0);
    text.push(char::from(b'0' + check));
    Curp::from_trusted_parts(text, birth, sex, state)
}

/// Builds a CURP following a simplified form of the RENAPO construction rules.
///
/// * Names are normalised to uppercase ASCII: accents are stripped and `Ñ`
///   becomes `X`.
/// * Leading particles of compound names are skipped ("de la Cruz" uses
///   CRUZ), and a first given name JOSE or MARIA is skipped when the person
///   has more than one given name ("María Guadalupe" uses GUADALUPE).
/// * Positions 1–4 are the first letter and first internal vowel of the
///   first surname, the first letter of the second surname and the first
///   letter of the given name; a missing name or vowel gives `X`.
/// * If those four letters form an [inconvenient word](INCONVENIENT_WORDS),
///   the second letter becomes `X`.
/// * Positions 14–16 are the first internal consonants of the three names.
///
/// Fails with [`CurpError::BirthYearOutOfRange`] for births outside
/// 1900–2099, and with [`CurpError::HomonymyNotValidForCentury`] unless the
/// homonymy character is an ASCII digit (births up to 1999) or an uppercase
/// ASCII letter (births from 2000). Every CURP it returns parses as valid.
pub fn build_curp(
    first_surname: &str,
    second_surname: &str,
    given_names: &str,
    birth: Date,
    sex: Sex,
    state: State,
    homonymy: char,
) -> Result<Curp, CurpError> {
    if !(1900..=2099).contains(&birth.year()) {
        return Err(CurpError::BirthYearOutOfRange);
    }
    let homonymy_fits = if birth.year() < 2000 { homonymy.is_ascii_digit() } else { homonymy.is_ascii_uppercase() };
    if !homonymy_fits {
        return Err(CurpError::HomonymyNotValidForCentury);
    }
    let letters = CurpNameLetters::from_names(first_surname, second_surname, given_names);
    // The homonymy character was checked to be ASCII above.
    Ok(assemble_curp(letters, birth, sex, state, homonymy as u8))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Replaces the character at a 1-based position and fixes the check digit.
    fn with_character(valid: &str, position: usize, replacement: char) -> String {
        let mut characters: Vec<char> = valid.chars().collect();
        characters[position - 1] = replacement;
        let first17: String = characters[..17].iter().collect();
        if let Some(check) = curp_check_digit(&first17) {
            characters[17] = char::from(b'0' + check);
        }
        characters.into_iter().collect()
    }

    const VALID: &str = "SABC560626MDFLRN01";

    #[test]
    fn parses_valid_curp_and_decodes_fields() {
        let curp = Curp::parse(VALID).unwrap();
        assert_eq!(curp.as_str(), VALID);
        assert_eq!(curp.birth_date(), Date::new(1956, 6, 26).unwrap());
        assert_eq!(curp.sex(), Sex::M);
        assert_eq!(curp.state(), State::CiudadDeMexico);
        assert_eq!(curp.homonymy(), '0');
        assert_eq!(curp.check_digit(), 1);
        assert_eq!(curp.to_string(), VALID);
    }

    #[test]
    fn parse_trims_surrounding_whitespace() {
        assert_eq!(Curp::parse("  SABC560626MDFLRN01\n").unwrap().as_str(), VALID);
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(Curp::parse("SABC560626MDFLRN0"), Err(CurpError::WrongLength { found: 17 }));
        assert_eq!(Curp::parse(""), Err(CurpError::WrongLength { found: 0 }));
        assert_eq!(Curp::parse("ÑABC560626MDFLRN0"), Err(CurpError::WrongLength { found: 17 }));
    }

    #[test]
    fn rejects_lowercase_and_non_ascii_characters() {
        assert_eq!(Curp::parse("sABC560626MDFLRN01"), Err(CurpError::InvalidCharacter { position: 1 }));
        assert_eq!(Curp::parse("SABC560626MDFLRÑ01"), Err(CurpError::InvalidCharacter { position: 16 }));
        assert_eq!(Curp::parse("SABC560626MDF-RN01"), Err(CurpError::InvalidCharacter { position: 14 }));
    }

    #[test]
    fn rejects_digits_in_name_letters() {
        assert_eq!(Curp::parse(&with_character(VALID, 3, '7')), Err(CurpError::NotLetters { position: 3 }));
        assert_eq!(Curp::parse(&with_character(VALID, 1, '7')), Err(CurpError::NotLetters { position: 1 }));
    }

    #[test]
    fn rejects_consonant_in_vowel_position() {
        assert_eq!(Curp::parse(&with_character(VALID, 2, 'B')), Err(CurpError::SecondLetterNotVowel));
        assert!(Curp::parse(&with_character(VALID, 2, 'X')).is_ok());
    }

    #[test]
    fn rejects_unreal_dates() {
        assert_eq!(Curp::parse(&with_character(&with_character(VALID, 7, '1'), 8, '3')), Err(CurpError::InvalidDate));
        assert_eq!(Curp::parse("SABC561326MDFLRN01"), Err(CurpError::InvalidDate));
        assert_eq!(Curp::parse(&with_character("SABC560231MDFLRN01", 17, '0')), Err(CurpError::InvalidDate));
        assert_eq!(Curp::parse(&with_character(VALID, 5, 'A')), Err(CurpError::InvalidDate));
    }

    #[test]
    fn rejects_date_real_only_in_the_other_century() {
        // The year 2000 is a leap year but 1900 is not.
        let leap_2000 = with_character("SABC000229MDFLRNA1", 17, 'A');
        assert!(Curp::parse(&leap_2000).is_ok());
        assert_eq!(Curp::parse(&with_character(&leap_2000, 17, '0')), Err(CurpError::HomonymyCenturyMismatch));
    }

    #[test]
    fn homonymy_selects_century() {
        let twenty_first = with_character(VALID, 17, 'A');
        assert_eq!(Curp::parse(&twenty_first).unwrap().birth_date(), Date::new(2056, 6, 26).unwrap());
    }

    #[test]
    fn rejects_invalid_sex() {
        assert_eq!(Curp::parse(&with_character(VALID, 11, 'F')), Err(CurpError::InvalidSex));
        assert!(Curp::parse(&with_character(VALID, 11, 'X')).is_ok());
    }

    #[test]
    fn rejects_unknown_state() {
        assert_eq!(Curp::parse(&with_character(VALID, 12, 'X')), Err(CurpError::UnknownState));
    }

    #[test]
    fn rejects_vowels_in_consonant_positions() {
        for position in 14..=16 {
            assert_eq!(
                Curp::parse(&with_character(VALID, position, 'A')),
                Err(CurpError::InvalidConsonants { position })
            );
            assert_eq!(
                Curp::parse(&with_character(VALID, position, '5')),
                Err(CurpError::InvalidConsonants { position })
            );
        }
    }

    #[test]
    fn rejects_letter_check_digit() {
        assert_eq!(Curp::parse("SABC560626MDFLRN0A"), Err(CurpError::CheckDigitNotDigit));
    }

    #[test]
    fn rejects_wrong_check_digit_without_echoing_input() {
        let error = Curp::parse("SABC560626MDFLRN02").unwrap_err();
        assert_eq!(error, CurpError::CheckDigitMismatch { found: 2, expected: 1 });
        let message = error.to_string();
        assert!(message.contains("check digit"));
        assert!(!message.contains("SABC"));
        assert!(!message.contains("560626"));
    }

    #[test]
    fn check_digit_alphabet_includes_enye() {
        assert_eq!(curp_character_value('N'), Some(23));
        assert_eq!(curp_character_value('Ñ'), Some(24));
        assert_eq!(curp_character_value('O'), Some(25));
        assert_eq!(curp_character_value('Z'), Some(36));
        assert_eq!(curp_character_value('a'), None);
        assert!(curp_check_digit("ÑABC560626MDFLRN0").is_some());
    }

    #[test]
    fn check_digit_requires_exactly_17_characters() {
        assert_eq!(curp_check_digit("SABC560626MDFLRN0"), Some(1));
        assert_eq!(curp_check_digit("SABC560626MDFLRN"), None);
        assert_eq!(curp_check_digit("SABC560626MDFLRN01"), None);
        assert_eq!(curp_check_digit("SABC560626MDFLRN-"), None);
    }

    #[test]
    fn builder_follows_renapo_rules() {
        let birth = Date::new(1956, 6, 26).unwrap();
        let curp = build_curp("Sánchez", "Blanco", "María Carmen", birth, Sex::M, State::CiudadDeMexico, '0').unwrap();
        // SA from Sánchez, B from Blanco, C from Carmen (María is skipped).
        assert_eq!(&curp.as_str()[..4], "SABC");
        assert_eq!(&curp.as_str()[13..16], "NLR");
        assert_eq!(curp.birth_date(), birth);
    }

    #[test]
    fn builder_handles_particles_enye_and_missing_second_surname() {
        let birth = Date::new(2003, 1, 15).unwrap();
        let curp = build_curp("de la Cruz", "", "Íñigo", birth, Sex::H, State::Jalisco, 'A').unwrap();
        // CU from Cruz, X for the missing second surname, I from Íñigo.
        assert_eq!(&curp.as_str()[..4], "CUXI");
        // R from Cruz, X for the missing surname, X for the Ñ of Íñigo.
        assert_eq!(&curp.as_str()[13..16], "RXX");
        let peña = build_curp("Peña", "Ñúñez", "José", birth, Sex::H, State::Jalisco, 'B').unwrap();
        assert_eq!(&peña.as_str()[..4], "PEXJ");
        assert_eq!(&peña.as_str()[13..16], "XXS");
    }

    #[test]
    fn builder_replaces_inconvenient_words() {
        let birth = Date::new(1990, 5, 5).unwrap();
        let curp = build_curp("Puente", "Torres", "Omar", birth, Sex::H, State::Puebla, '0').unwrap();
        assert_eq!(&curp.as_str()[..4], "PXTO");
        assert!(Curp::parse(curp.as_str()).is_ok());
    }

    #[test]
    fn builder_rejects_unrepresentable_inputs() {
        let old = Date::new(1899, 12, 31).unwrap();
        assert_eq!(build_curp("A", "B", "C", old, Sex::H, State::Sonora, '0'), Err(CurpError::BirthYearOutOfRange));
        let recent = Date::new(2001, 1, 1).unwrap();
        assert_eq!(
            build_curp("A", "B", "C", recent, Sex::H, State::Sonora, '0'),
            Err(CurpError::HomonymyNotValidForCentury)
        );
        let older = Date::new(1999, 1, 1).unwrap();
        assert_eq!(
            build_curp("A", "B", "C", older, Sex::H, State::Sonora, 'A'),
            Err(CurpError::HomonymyNotValidForCentury)
        );
        assert_eq!(
            build_curp("A", "B", "C", older, Sex::H, State::Sonora, 'ñ'),
            Err(CurpError::HomonymyNotValidForCentury)
        );
    }

    #[test]
    fn builder_output_parses_for_unusual_names() {
        let birth = Date::new(1971, 2, 28).unwrap();
        for (first, second, given) in [
            ("", "", ""),
            ("O'Brien", "Müller", "Zoë"),
            ("Ng", "Li", "Ai"),
            ("de", "la", "y"),
            ("李", "Øster", "Łukasz"),
            ("Mc Donald", "van der Berg", "José María"),
        ] {
            let curp = build_curp(first, second, given, birth, Sex::X, State::NacidoEnElExtranjero, '9').unwrap();
            assert_eq!(Curp::parse(curp.as_str()).unwrap(), curp, "{first} {second} {given}");
        }
    }

    #[test]
    fn name_word_selection() {
        assert_eq!(given_name_word("José Luis").as_deref(), Some("LUIS"));
        assert_eq!(given_name_word("José").as_deref(), Some("JOSE"));
        assert_eq!(given_name_word("María de los Ángeles").as_deref(), Some("ANGELES"));
        assert_eq!(surname_word("de la Cruz").as_deref(), Some("CRUZ"));
        assert_eq!(surname_word("Montes de Oca").as_deref(), Some("MONTES"));
        assert_eq!(surname_word("  "), None);
    }
}
