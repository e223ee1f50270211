//! ICAO 9303 machine-readable zone (MRZ) check digits.

/// Computes the ICAO 9303 check digit of an MRZ field.
///
/// Characters are valued `0`–`9` for digits, 10–35 for `A`–`Z` and 0 for
/// the filler `<`; the values are multiplied by the repeating weights
/// 7, 3, 1 and the check digit is the sum modulo 10. Returns `None` if any
/// other character (lowercase letters included) appears.
#[must_use]
pub fn icao_check_digit(field: &str) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (index, character) in field.chars().enumerate() {
        let value = match character {
            '0'..='9' => u32::from(character) - u32::from('0'),
            'A'..='Z' => u32::from(character) - u32::from('A') + 10,
            '<' => 0,
            _ => return None,
        };
        sum = (sum + value * WEIGHTS[index % 3]) % 10;
    }
    // The sum is reduced modulo 10, so it fits in a u8.
    Some(sum as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_icao_9303_specimen_values() {
        // Values from the ICAO 9303 part 3 specimen passport of Anna Maria Eriksson.
        assert_eq!(icao_check_digit("L898902C3"), Some(6));
        assert_eq!(icao_check_digit("740812"), Some(2));
        assert_eq!(icao_check_digit("120415"), Some(9));
        assert_eq!(icao_check_digit("ZE184226B"), Some(1));
        assert_eq!(icao_check_digit("L898902C<"), Some(3));
    }

    #[test]
    fn filler_counts_as_zero() {
        assert_eq!(icao_check_digit("<<<<<<"), Some(0));
        assert_eq!(icao_check_digit("A<"), icao_check_digit("A0"));
        assert_eq!(icao_check_digit(""), Some(0));
    }

    #[test]
    fn rejects_characters_outside_the_mrz_alphabet() {
        assert_eq!(icao_check_digit("l898902c3"), None);
        assert_eq!(icao_check_digit("L898 902C3"), None);
        assert_eq!(icao_check_digit("Ñ"), None);
    }
}
