//! Management's earnings: for a business day, the assignment fees charged minus the completion
//! rewards credited that day. Payouts are not earnings.

use chrono::NaiveDate;

/// Fees and rewards of one business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayEarnings {
    /// The business date.
    pub business_date: NaiveDate,
    /// Fees charged that day, in cents (non-negative).
    pub fees_cents: i64,
    /// Rewards credited that day, in cents (non-negative).
    pub rewards_cents: i64,
}

impl DayEarnings {
    /// Fees minus rewards; negative when management lost money that day.
    pub fn earnings_cents(&self) -> i64 {
        self.fees_cents - self.rewards_cents
    }
}

/// One item per date from `from` to `to` inclusive, in date order: the day's totals from
/// `days` (sorted by date), or zeros for a day without entries.
pub fn daily_series(from: NaiveDate, to: NaiveDate, days: &[DayEarnings]) -> Vec<DayEarnings> {
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            days.iter()
                .find(|known| known.business_date == day)
                .copied()
                .unwrap_or(DayEarnings {
                    business_date: day,
                    fees_cents: 0,
                    rewards_cents: 0,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    #[test]
    fn a_series_has_every_day_of_the_range_and_zeros_where_nothing_happened() {
        let known = [DayEarnings {
            business_date: date(26),
            fees_cents: 3_000,
            rewards_cents: 4_000,
        }];
        let series = daily_series(date(25), date(27), &known);
        assert_eq!(series.len(), 3);
        assert_eq!(series[0].earnings_cents(), 0);
        assert_eq!(series[1].earnings_cents(), -1_000);
        assert_eq!(series[2].business_date, date(27));
        assert!(daily_series(date(27), date(25), &known).is_empty());
    }
}
