//! auth's tables, through diesel.

pub mod accounts;
pub mod schema;
pub mod signing_keys;
