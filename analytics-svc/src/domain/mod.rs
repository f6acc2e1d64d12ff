//! What analytics answers, free of storage and transport: periods and ranges of business dates,
//! the most expensive task rule, management's earnings, and when a resync is complete.

mod periods;
mod ranking;
mod resync;

pub use ates_calendar::BusinessCalendar;
pub use periods::{DateRange, MAX_SERIES_DAYS, Period, RangeRefused};
pub use ranking::{Completion, DayTotals, most_expensive, ranks_above};
pub use resync::{BatchSeen, STREAMS, Stream, is_complete};
