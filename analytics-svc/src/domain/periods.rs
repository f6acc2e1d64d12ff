//! Periods and ranges of business dates.

use chrono::{Days, NaiveDate};

/// The longest series of days one call returns.
pub const MAX_SERIES_DAYS: u64 = 366;

/// A span of business dates ending on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The end date alone.
    Day,
    /// The seven days ending on the end date.
    Week,
    /// The thirty days ending on the end date.
    Month,
}

impl Period {
    /// How many dates the period spans.
    pub const fn days(self) -> u64 {
        match self {
            Period::Day => 1,
            Period::Week => 7,
            Period::Month => 30,
        }
    }

    /// The dates of the period that ends on `end`.
    pub fn ending_on(self, end: NaiveDate) -> DateRange {
        DateRange {
            first: end
                .checked_sub_days(Days::new(self.days() - 1))
                .unwrap_or(NaiveDate::MIN),
            last: end,
        }
    }
}

/// An inclusive range of business dates, first not after last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    first: NaiveDate,
    last: NaiveDate,
}

/// Why a range of dates was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeRefused {
    /// The last date is before the first.
    #[error("is before from_date")]
    Reversed,
    /// More days than one series may have.
    #[error("makes a range of {days} days; at most {MAX_SERIES_DAYS} are allowed")]
    TooLong {
        /// How many days were asked for.
        days: u64,
    },
}

impl DateRange {
    /// The dates from `first` to `last`, both included, for a series: at most
    /// [`MAX_SERIES_DAYS`].
    pub fn series(first: NaiveDate, last: NaiveDate) -> Result<Self, RangeRefused> {
        if last < first {
            return Err(RangeRefused::Reversed);
        }
        let days = u64::try_from((last - first).num_days()).unwrap_or(u64::MAX) + 1;
        if days > MAX_SERIES_DAYS {
            return Err(RangeRefused::TooLong { days });
        }
        Ok(Self { first, last })
    }

    /// The first date of the range.
    pub fn start(&self) -> NaiveDate {
        self.first
    }

    /// The last date of the range.
    pub fn end(&self) -> NaiveDate {
        self.last
    }

    /// Every date of the range, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let last = self.last;
        self.first.iter_days().take_while(move |date| *date <= last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_period_ends_on_its_date_and_spans_one_seven_or_thirty_days() {
        let end = date("2026-03-01");
        assert_eq!(Period::Day.ending_on(end).start(), end);
        assert_eq!(Period::Week.ending_on(end).start(), date("2026-02-23"));
        assert_eq!(Period::Month.ending_on(end).start(), date("2026-01-31"));
        assert_eq!(Period::Month.ending_on(end).dates().count(), 30);
    }

    #[test]
    fn a_series_is_at_most_366_days_and_never_reversed() {
        let first = date("2024-01-01");
        let leap_year = DateRange::series(first, date("2024-12-31")).unwrap();
        assert_eq!(leap_year.dates().count(), 366);
        assert_eq!(
            DateRange::series(first, date("2025-01-01")),
            Err(RangeRefused::TooLong { days: 367 })
        );
        assert_eq!(
            DateRange::series(first, date("2023-12-31")),
            Err(RangeRefused::Reversed)
        );
        assert_eq!(DateRange::series(first, first).unwrap().dates().count(), 1);
    }
}
