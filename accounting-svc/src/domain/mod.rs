//! Accounting's rules, free of storage and transport: postings and business dates.

mod calendar;
mod posting;

pub use calendar::BusinessCalendar;
pub use posting::{Book, Kind, Leg, Posting};
