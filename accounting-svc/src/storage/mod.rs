//! Accounting's tables, through diesel.

pub mod ledger;
pub mod schema;
