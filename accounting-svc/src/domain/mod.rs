//! Accounting's rules, free of storage and transport: postings (balanced legs with a business
//! key), management's earnings, who may read which books, and business dates (the shared rule of `ates-calendar`).

mod access;
mod earnings;
mod posting;

pub use access::{BOOKKEEPERS, StatementRefused, check_statement_access};
pub use ates_calendar::BusinessCalendar;
pub use earnings::{DayEarnings, daily_series};
pub use posting::{Book, Kind, Leg, Posting};
