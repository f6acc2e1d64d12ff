//! Events: what analytics consumes (account, task, bill and audit-log events and their
//! snapshots) and what it produces (resync requests).

pub mod inbound;
pub mod outbound;
