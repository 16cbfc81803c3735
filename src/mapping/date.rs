//! Unix seconds to a NetSuite `tranDate` (`YYYY-MM-DD`, UTC) without a date crate: the
//! bridge needs exactly one conversion, and the civil-from-days algorithm is short and exact.

/// The UTC calendar date of a Unix timestamp, as `YYYY-MM-DD`.
pub fn civil_date(unix_secs: i64) -> String {
    let (y, m, d) = civil_from_days(unix_secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day) in the
/// proleptic Gregorian calendar. Eras are 400-year cycles so leap rules fall out exactly.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468; // shift the epoch to 0000-03-01 so the leap day ends the year
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_convert_in_utc() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(1_700_000_000), "2023-11-14");
        assert_eq!(civil_date(4_102_444_800), "2100-01-01");
        // Seconds before the epoch belong to the previous day, not to 1970-01-01.
        assert_eq!(civil_date(-1), "1969-12-31");
    }

    #[test]
    fn leap_days_convert_including_the_400_year_rule() {
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_709_164_800), "2024-02-29");
        assert_eq!(civil_date(1_709_251_199), "2024-02-29");
        assert_eq!(civil_date(1_709_251_200), "2024-03-01");
        // 2100 is not a leap year: Feb 28 is followed by Mar 1.
        assert_eq!(civil_date(4_107_456_000), "2100-02-28");
        assert_eq!(civil_date(4_107_542_400), "2100-03-01");
    }
}
