//! Events: what auth consumes (resync requests), every event it produces, and the state it
//! sends again for a resync.

pub mod inbound;
pub mod outbound;
pub mod snapshots;
