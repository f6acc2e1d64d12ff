//! Events: what the tracker consumes (auth's account events) and every event it produces.

pub mod inbound;
pub mod outbound;
