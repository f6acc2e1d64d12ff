//! Events: what accounting consumes (task lifecycles and descriptions from the tracker, payouts,
//! resync requests), every event it produces (bill updates, audit-log entries), and the state it
//! sends again for a resync.

pub mod inbound;
pub mod outbound;
pub mod snapshots;
