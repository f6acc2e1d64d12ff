//! Business dates: the day, 00:00 to 24:00 in one configured time zone, on which a fact happened.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// Maps instants to business dates.
#[derive(Debug, Clone, Copy)]
pub struct BusinessCalendar {
    zone: Tz,
}

impl BusinessCalendar {
    /// A calendar in `zone`.
    pub fn new(zone: Tz) -> Self {
        Self { zone }
    }

    /// The business date of `instant`.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.zone).date_naive()
    }

    /// Today's business date.
    pub fn today(&self) -> NaiveDate {
        self.date_of(Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_date_is_the_calendar_day_in_the_configured_zone() {
        let instant = DateTime::parse_from_rfc3339("2026-11-25T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            BusinessCalendar::new(Tz::UTC).date_of(instant),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
        );
        assert_eq!(
            BusinessCalendar::new(Tz::Europe__Moscow).date_of(instant),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
        );
    }
}
