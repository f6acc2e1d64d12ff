//! When business dates are closed: a date may be closed once it has ended; it is closed by
//! itself at its end plus a grace period, so that events of its last seconds can arrive.

use std::time::Duration;

use ates_calendar::BusinessCalendar;
use chrono::{DateTime, NaiveDate, Utc};

/// The close schedule of a deployment.
#[derive(Debug, Clone, Copy)]
pub struct CloseSchedule {
    calendar: BusinessCalendar,
    grace: chrono::Duration,
}

impl CloseSchedule {
    /// Dates of `calendar`, closed `grace` after they end.
    pub fn new(calendar: BusinessCalendar, grace: Duration) -> Self {
        Self {
            calendar,
            grace: chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// The business calendar.
    pub fn calendar(&self) -> BusinessCalendar {
        self.calendar
    }

    /// Whether `date` has ended at `now` (an admin may close it).
    pub fn has_ended(&self, date: NaiveDate, now: DateTime<Utc>) -> bool {
        self.calendar.end_of(date) <= now
    }

    /// When the scheduled close of `date` is due.
    pub fn due_at(&self, date: NaiveDate) -> DateTime<Utc> {
        self.calendar
            .end_of(date)
            .checked_add_signed(self.grace)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The latest date whose scheduled close is due at `now`.
    pub fn last_due(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        let shifted = now.checked_sub_signed(self.grace)?;
        self.calendar.date_of(shifted).pred_opt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(raw: &str) -> NaiveDate {
        ates_calendar::parse_date(raw).unwrap()
    }

    #[test]
    fn a_date_may_be_closed_once_ended_and_is_closed_after_the_grace() {
        let zone: BusinessCalendar = "+05:00".parse().unwrap();
        let schedule = CloseSchedule::new(zone, Duration::from_secs(60));
        let day = date("2026-11-25");
        // Local midnight of the 26th is 19:00 UTC on the 25th.
        assert!(!schedule.has_ended(day, at("2026-11-25T18:59:59Z")));
        assert!(schedule.has_ended(day, at("2026-11-25T19:00:00Z")));
        assert_eq!(schedule.due_at(day), at("2026-11-25T19:01:00Z"));
        assert_eq!(
            schedule.last_due(at("2026-11-25T19:00:59Z")),
            Some(date("2026-11-24"))
        );
        assert_eq!(schedule.last_due(at("2026-11-25T19:01:00Z")), Some(day));
    }
}
