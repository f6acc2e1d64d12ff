//! Events: what auth consumes (nothing yet) and every event it produces.

pub mod inbound;
pub mod outbound;
