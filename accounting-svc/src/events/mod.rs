//! Events: what accounting consumes (task lifecycles and descriptions from the tracker, payouts)
//! and every event it produces (bill updates, audit-log entries).

pub mod inbound;
pub mod outbound;
