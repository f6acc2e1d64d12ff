//! The BFF's rules, free of transport: who sees which screen, and the range of the daily series.

use ates_token::Role;
use chrono::NaiveDate;

/// The roles that see any account and management's money: admins and accountants.
pub const BOOKKEEPERS: &[Role] = &[Role::Admin, Role::Accountant];

/// Days in the daily series when the caller names no start: today and the 29 before.
pub const DEFAULT_SERIES_DAYS: i64 = 30;

/// The first date of a series ending on `to_date` when the caller names none.
pub fn default_series_start(to_date: NaiveDate) -> NaiveDate {
    to_date - chrono::Duration::days(DEFAULT_SERIES_DAYS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_series_is_thirty_days_ending_on_its_last_date() {
        let to = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let from = default_series_start(to);
        assert_eq!(from, NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        assert_eq!(from.iter_days().take_while(|day| *day <= to).count(), 30);
    }
}
