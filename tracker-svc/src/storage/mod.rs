//! The tracker's tables, through diesel.

pub mod accounts;
pub mod request_keys;
pub mod schema;
pub mod tasks;
