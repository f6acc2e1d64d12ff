//! Events: what bff consumes and every event it produces.

pub mod inbound;
pub mod outbound;
