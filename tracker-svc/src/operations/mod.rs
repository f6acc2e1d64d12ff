//! The tracker's operations: each opens its transaction, applies the domain's rules, and records
//! the events the change causes in the same transaction.

pub mod backfill;
mod request_keys;
pub mod tasks;

pub use backfill::Backfill;
pub use tasks::{NewDetails, Reshuffle, Tasks};
