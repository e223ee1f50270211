//! Civil-time helpers; the crate never reads the clock itself.

use crate::error::{Error, Result};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
#[must_use]
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Result<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Time);
    }
    s.parse().map_err(|_| Error::Time)
}

/// Parses an RFC 3339 timestamp (`2021-05-03T18:00:00Z`, fractional seconds and numeric
/// offsets allowed, `t`/`z`/space accepted) into unix seconds, dropping fractions.
///
/// # Errors
///
/// [`Error::Time`] when the text is not such a timestamp.
pub fn parse_rfc3339(s: &str) -> Result<i64> {
    let s = s.trim();
    let date = s.get(..10).ok_or(Error::Time)?;
    let sep = s.get(10..11).ok_or(Error::Time)?;
    if !matches!(sep, "T" | "t" | " ") || date.get(4..5) != Some("-") || date.get(7..8) != Some("-") {
        return Err(Error::Time);
    }
    let (year, month, day) = (
        num(date.get(..4).ok_or(Error::Time)?)?,
        num(date.get(5..7).ok_or(Error::Time)?)?,
        num(date.get(8..10).ok_or(Error::Time)?)?,
    );
    let rest = s.get(11..).ok_or(Error::Time)?;
    let time = rest.get(..8).ok_or(Error::Time)?;
    if time.get(2..3) != Some(":") || time.get(5..6) != Some(":") {
        return Err(Error::Time);
    }
    let (h, m, sec) = (
        num(time.get(..2).ok_or(Error::Time)?)?,
        num(time.get(3..5).ok_or(Error::Time)?)?,
        num(time.get(6..8).ok_or(Error::Time)?)?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return Err(Error::Time);
    }
    let mut zone = rest.get(8..).ok_or(Error::Time)?;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(Error::Time);
        }
        zone = frac.get(digits..).ok_or(Error::Time)?;
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(..1) {
                Some("+") => 1,
                Some("-") => -1,
                _ => return Err(Error::Time),
            };
            if zone.len() != 6 || zone.get(3..4) != Some(":") {
                return Err(Error::Time);
            }
            let oh = num(zone.get(1..3).ok_or(Error::Time)?)?;
            let om = num(zone.get(4..6).ok_or(Error::Time)?)?;
            sign * (oh * 3600 + om * 60)
        }
    };
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_rfc3339_variants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_rfc3339("2021-05-03T18:00:00Z").unwrap(), 1_620_064_800);
        assert_eq!(parse_rfc3339("2021-05-03T20:00:00.123456+02:00").unwrap(), 1_620_064_800);
        assert!(parse_rfc3339("2021-05-03").is_err());
        assert!(parse_rfc3339("2021-13-03T00:00:00Z").is_err());
    }
}
