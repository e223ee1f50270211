//! A tiny proleptic Gregorian calendar date type.

use std::fmt;
use std::str::FromStr;

use crate::error::DateError;

/// A real Gregorian calendar date between the years 1 and 9999.
///
/// The fields are private so that every value is a day that exists; use
/// [`Date::new`] or [`Date::parse_iso`] to build one. Dates order
/// chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// The number of days from 0000-03-01 to 1970-01-01 in the civil-days algorithm.
const DAYS_FROM_EPOCH_SHIFT: i64 = 719_468;

impl Date {
    /// The smallest supported year.
    pub const MIN_YEAR: u16 = 1;
    /// The largest supported year.
    pub const MAX_YEAR: u16 = 9999;
    /// 1970-01-01, the Unix epoch and day 0 of [`Date::days_from_civil`].
    pub const UNIX_EPOCH: Date = Date { year: 1970, month: 1, day: 1 };

    /// Returns the date if the year is within 1..=9999 and the day exists.
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            return None;
        }
        let days_in_month = days_in_month(year, month)?;
        if day == 0 || day > days_in_month {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The year, from 1 to 9999.
    #[must_use]
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, from 1 to 12.
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1 to 31.
    #[must_use]
    pub fn day(self) -> u8 {
        self.day
    }

    /// Parses a date of the exact form `YYYY-MM-DD`, ignoring surrounding whitespace.
    pub fn parse_iso(input: &str) -> Result<Date, DateError> {
        let bytes = input.trim().as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(DateError::BadFormat);
        }
        let year = parse_ascii_digits(&bytes[0..4]).ok_or(DateError::BadFormat)?;
        let month = parse_ascii_digits(&bytes[5..7]).ok_or(DateError::BadFormat)?;
        let day = parse_ascii_digits(&bytes[8..10]).ok_or(DateError::BadFormat)?;
        let year = u16::try_from(year).map_err(|_| DateError::BadFormat)?;
        let month = u8::try_from(month).map_err(|_| DateError::BadFormat)?;
        let day = u8::try_from(day).map_err(|_| DateError::BadFormat)?;
        Date::new(year, month, day).ok_or(DateError::NotARealDate)
    }

    /// The number of days since 1970-01-01 (negative before it).
    ///
    /// This is Howard Hinnant's `days_from_civil` algorithm.
    #[must_use]
    pub fn days_from_civil(self) -> i64 {
        let month = i64::from(self.month);
        let day = i64::from(self.day);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let shifted_month = if month > 2 { month - 3 } else { month + 9 };
        let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - DAYS_FROM_EPOCH_SHIFT
    }

    /// The date that is `days` days after 1970-01-01, if it lies within years 1..=9999.
    ///
    /// This is the inverse of [`Date::days_from_civil`] (Howard Hinnant's
    /// `civil_from_days` algorithm).
    #[must_use]
    pub fn from_days(days: i64) -> Option<Date> {
        const FIRST: i64 = -719_162;
        const LAST: i64 = 2_932_896;
        if !(FIRST..=LAST).contains(&days) {
            return None;
        }
        let shifted = days + DAYS_FROM_EPOCH_SHIFT;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date::new(u16::try_from(year).ok()?, u8::try_from(month).ok()?, u8::try_from(day).ok()?)
    }

    /// Appends the six digits `YYMMDD` used by CURPs and claves de elector.
    pub(crate) fn push_yymmdd(self, out: &mut String) {
        push_two_digits(out, u32::from(self.year % 100));
        push_two_digits(out, u32::from(self.month));
        push_two_digits(out, u32::from(self.day));
    }
}

/// Returns whether `year` is a Gregorian leap year.
#[must_use]
pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Returns the number of days in `month` of `year`, or `None` for a month outside 1..=12.
#[must_use]
pub fn days_in_month(year: u16, month: u8) -> Option<u8> {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if is_leap_year(year) => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// Parses a non-empty run of ASCII digits into a number, or returns `None`.
pub(crate) fn parse_ascii_digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    bytes.iter().try_fold(0u32, |value, &byte| byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0')))
}

/// Appends `value % 100` as exactly two ASCII digits.
pub(crate) fn push_two_digits(out: &mut String, value: u32) {
    let value = value % 100;
    out.push(char::from(b'0' + (value / 10) as u8));
    out.push(char::from(b'0' + (value % 10) as u8));
}

impl fmt::Display for Date {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Date::parse_iso(input)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn new_accepts_real_dates_and_rejects_impossible_ones() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2023, 4, 31).is_none());
        assert!(Date::new(2023, 13, 1).is_none());
        assert!(Date::new(2023, 0, 1).is_none());
        assert!(Date::new(2023, 1, 0).is_none());
        assert!(Date::new(0, 1, 1).is_none());
        assert!(Date::new(10000, 1, 1).is_none());
        assert!(Date::new(9999, 12, 31).is_some());
    }

    #[test]
    fn parse_iso_round_trips_with_display() {
        let date = Date::parse_iso("1931-08-20").unwrap();
        assert_eq!((date.year(), date.month(), date.day()), (1931, 8, 20));
        assert_eq!(date.to_string(), "1931-08-20");
        assert_eq!(" 0001-01-01 ".parse::<Date>().unwrap().to_string(), "0001-01-01");
    }

    #[test]
    fn parse_iso_rejects_bad_format() {
        for bad in ["", "1931-8-20", "19310820", "1931/08/20", "1931-08-2a", "+931-08-20", "1931-08-200"] {
            assert_eq!(Date::parse_iso(bad), Err(DateError::BadFormat), "{bad}");
        }
    }

    #[test]
    fn parse_iso_rejects_unreal_dates() {
        for bad in ["2023-02-29", "2023-13-01", "0000-01-01", "2023-00-10", "2023-06-31"] {
            assert_eq!(Date::parse_iso(bad), Err(DateError::NotARealDate), "{bad}");
        }
    }

    #[test]
    fn days_from_civil_matches_known_values() {
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_from_civil(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().days_from_civil(), 11_017);
        assert_eq!(Date::new(1969, 12, 31).unwrap().days_from_civil(), -1);
        assert_eq!(Date::new(1, 1, 1).unwrap().days_from_civil(), -719_162);
        assert_eq!(Date::new(9999, 12, 31).unwrap().days_from_civil(), 2_932_896);
    }

    #[test]
    fn from_days_inverts_days_from_civil_over_a_long_range() {
        let mut day = Date::new(1, 1, 1).unwrap().days_from_civil();
        let mut previous: Option<Date> = None;
        while day < 800_000 {
            let date = Date::from_days(day).unwrap();
            assert_eq!(date.days_from_civil(), day);
            if let Some(previous) = previous {
                assert!(previous < date);
            }
            previous = Some(date);
            day += 1;
        }
        assert_eq!(Date::from_days(-719_163), None);
        assert_eq!(Date::from_days(2_932_897), None);
    }

    #[test]
    fn push_yymmdd_writes_six_digits() {
        let mut text = String::new();
        Date::new(2005, 3, 9).unwrap().push_yymmdd(&mut text);
        assert_eq!(text, "050309");
    }
}
