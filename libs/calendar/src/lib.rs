//! Business dates, the same rule in every aTES service.
//!
//! A business day runs from 00:00 to 24:00 in one configured time zone (`BUSINESS_TIME_ZONE`: an
//! IANA name such as `Europe/Moscow`, or a fixed offset from UTC to the second such as
//! `+05:17:30`; default `UTC`). Every ledger entry carries the business date of the fact it
//! records, and the close of a day pays what was earned through its end. Dates cross the wire as
//! ISO 8601 calendar dates, exactly `YYYY-MM-DD` ([`parse_date`]).

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// The time zone business days are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

/// Maps instants to business dates and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessCalendar {
    zone: Zone,
}

/// Why a `BUSINESS_TIME_ZONE` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither an IANA time zone name (Europe/Moscow) nor a UTC offset (+05:17:30)")]
pub struct ZoneError(String);

impl FromStr for BusinessCalendar {
    type Err = ZoneError;

    fn from_str(raw: &str) -> Result<Self, ZoneError> {
        if let Some(offset) = parse_offset(raw) {
            return Ok(Self {
                zone: Zone::Fixed(offset),
            });
        }
        raw.parse::<Tz>()
            .map(|zone| Self {
                zone: Zone::Named(zone),
            })
            .map_err(|_| ZoneError(raw.to_owned()))
    }
}

/// `+HH:MM` or `+HH:MM:SS` (or `-`), below 24 hours.
fn parse_offset(raw: &str) -> Option<FixedOffset> {
    let (sign, rest) = match raw.as_bytes().first()? {
        b'+' => (1, &raw[1..]),
        b'-' => (-1, &raw[1..]),
        _ => return None,
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|part| part.len() != 2) {
        return None;
    }
    let number = |part: &str| -> Option<i32> {
        part.bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let hours = number(parts[0])?;
    let minutes = number(parts[1])?;
    let seconds = parts.get(2).map_or(Some(0), |part| number(part))?;
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60 + seconds))
}

impl Default for BusinessCalendar {
    fn default() -> Self {
        Self::utc()
    }
}

impl BusinessCalendar {
    /// Business days in UTC.
    pub const fn utc() -> Self {
        Self {
            zone: Zone::Named(Tz::UTC),
        }
    }

    /// Business days in an IANA zone.
    pub const fn named(zone: Tz) -> Self {
        Self {
            zone: Zone::Named(zone),
        }
    }

    /// Business days at a fixed offset from UTC.
    pub const fn fixed(offset: FixedOffset) -> Self {
        Self {
            zone: Zone::Fixed(offset),
        }
    }

    /// The business date of `instant`.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        match self.zone {
            Zone::Named(zone) => instant.with_timezone(&zone).date_naive(),
            Zone::Fixed(offset) => instant.with_timezone(&offset).date_naive(),
        }
    }

    /// Today's business date.
    pub fn today(&self) -> NaiveDate {
        self.date_of(Utc::now())
    }

    /// The instant `date` begins: its first second in the zone (00:00, or the first moment
    /// after a daylight-saving gap that skips midnight).
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        // The date of an instant never goes back as time goes on, so the first second of `date`
        // is found by bisection between a day before and a day after its midnight read as UTC.
        let midnight = date.and_time(NaiveTime::MIN).and_utc().timestamp();
        let (mut before, mut after) = (midnight - 27 * 3_600, midnight + 27 * 3_600);
        let at =
            |seconds: i64| DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        while after - before > 1 {
            let middle = before + (after - before) / 2;
            if self.date_of(at(middle)) >= date {
                after = middle;
            } else {
                before = middle;
            }
        }
        at(after)
    }

    /// The instant `date` ends: the start of the next date.
    pub fn end_of(&self, date: NaiveDate) -> DateTime<Utc> {
        self.start_of(date.succ_opt().unwrap_or(date))
    }
}

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `YYYY-MM-DD` with zero-padded numbers.
    #[error("must be a date written YYYY-MM-DD, like 2026-11-25")]
    Format,
    /// The numbers do not name a day of the calendar.
    #[error("is not a day of the calendar")]
    NoSuchDay,
}

/// A calendar date written exactly `YYYY-MM-DD` (ISO 8601, zero-padded, nothing around it).
pub fn parse_date(raw: &str) -> Result<NaiveDate, DateError> {
    let bytes = raw.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    if !shaped {
        return Err(DateError::Format);
    }
    let number = |range: std::ops::Range<usize>| raw[range].parse::<u32>().unwrap_or(0);
    let year = i32::try_from(number(0..4)).map_err(|_| DateError::Format)?;
    NaiveDate::from_ymd_opt(year, number(5..7), number(8..10)).ok_or(DateError::NoSuchDay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(raw: &str) -> NaiveDate {
        parse_date(raw).unwrap()
    }

    #[test]
    fn a_business_date_is_the_calendar_day_in_the_configured_zone() {
        let instant = at("2026-11-25T23:30:00Z");
        assert_eq!(BusinessCalendar::utc().date_of(instant), date("2026-11-25"));
        let moscow: BusinessCalendar = "Europe/Moscow".parse().unwrap();
        assert_eq!(moscow.date_of(instant), date("2026-11-26"));
        let odd: BusinessCalendar = "+05:17:30".parse().unwrap();
        assert_eq!(odd.date_of(at("2026-11-25T18:42:29Z")), date("2026-11-25"));
        assert_eq!(odd.date_of(at("2026-11-25T18:42:30Z")), date("2026-11-26"));
        let west: BusinessCalendar = "-03:00".parse().unwrap();
        assert_eq!(west.date_of(at("2026-11-26T02:59:59Z")), date("2026-11-25"));
    }

    #[test]
    fn a_day_starts_at_local_midnight_and_ends_where_the_next_starts() {
        let odd: BusinessCalendar = "+05:17:30".parse().unwrap();
        assert_eq!(odd.start_of(date("2026-11-26")), at("2026-11-25T18:42:30Z"));
        assert_eq!(odd.end_of(date("2026-11-25")), at("2026-11-25T18:42:30Z"));
        let moscow: BusinessCalendar = "Europe/Moscow".parse().unwrap();
        assert_eq!(
            moscow.start_of(date("2026-11-26")),
            at("2026-11-25T21:00:00Z")
        );
        // Where a daylight-saving change skips midnight, the day starts at the first moment.
        let havana: BusinessCalendar = "America/Havana".parse().unwrap();
        let start = havana.start_of(date("2026-03-08"));
        assert_eq!(havana.date_of(start), date("2026-03-08"));
        assert_eq!(
            havana.date_of(start - Duration::seconds(1)),
            date("2026-03-07")
        );
    }

    #[test]
    fn zones_are_iana_names_or_offsets_to_the_second() {
        for good in [
            "UTC",
            "Europe/Moscow",
            "+00:00",
            "-12:00",
            "+05:17:30",
            "+23:59:59",
        ] {
            assert!(good.parse::<BusinessCalendar>().is_ok(), "{good}");
        }
        for bad in [
            "",
            "Mars/Olympus",
            "+5",
            "+05",
            "+24:00",
            "+05:60",
            "05:00",
            "+05:00:00:00",
            "+0a:00",
        ] {
            assert!(bad.parse::<BusinessCalendar>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_are_exactly_year_month_day_zero_padded() {
        assert_eq!(
            parse_date("2026-01-05"),
            Ok(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
        );
        for loose in [
            "2026-1-5",
            " 2026-01-05",
            "2026-01-05 ",
            "2026/01/05",
            "20260105",
            "",
            "+2026-01-0",
        ] {
            assert_eq!(parse_date(loose), Err(DateError::Format), "{loose:?}");
        }
        assert_eq!(parse_date("2026-02-30"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("2026-13-01"), Err(DateError::NoSuchDay));
    }

    proptest! {
        #[test]
        fn every_date_survives_writing_and_reading(days in 0_i64..200_000) {
            let day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + Duration::days(days);
            prop_assert_eq!(parse_date(&day.format("%Y-%m-%d").to_string()), Ok(day));
        }

        #[test]
        fn every_instant_falls_between_the_start_and_end_of_its_date(
            seconds in 0_i64..4_000_000_000, offset in -86_399_i32..86_400
        ) {
            let calendar = BusinessCalendar::fixed(FixedOffset::east_opt(offset).unwrap());
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let day = calendar.date_of(instant);
            prop_assert!(calendar.start_of(day) <= instant);
            prop_assert!(instant < calendar.end_of(day));
        }
    }
}
