//! payouts' tables, through diesel.

pub mod accounts;
pub mod closes;
pub mod earnings;
pub mod emails;
pub mod payouts;
pub mod schema;
