//! UTC calendar dates from days since the Unix epoch and back (Howard
//! Hinnant's civil-from-days algorithms), for days on or after 1970: a
//! quota's month ends at a calendar month, and the page shows when a wait
//! ends as a date. Two small formulas rather than a date crate in the wasm.

/// Year, month (1–12) and day (1–31) of a day since the epoch.
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(m <= 2), m, d)
}

/// Days since the epoch of the first of month `m` (1–12) of year `y`
/// (y ≥ 1970).
pub fn first_of_month(y: u64, m: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_both_ways() {
        // Days since 1970-01-01, as Python's datetime counts them.
        let cases = [
            (0, (1970, 1, 1)),
            (11_016, (2000, 2, 29)),
            (11_017, (2000, 3, 1)),
            (20_794, (2026, 12, 7)),
            (47_541, (2100, 3, 1)),
        ];
        for (days, ymd) in cases {
            assert_eq!(civil_from_days(days), ymd, "{days}");
            if ymd.2 == 1 {
                assert_eq!(first_of_month(ymd.0, ymd.1), days, "{ymd:?}");
            }
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_through_its_month() {
        for days in (0..146_097).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert_eq!(first_of_month(y, m) + d - 1, days);
        }
    }
}
