//! The operations behind analytics' answers, and resync requests.

mod answers;
mod resync;

pub use answers::{Answers, Summary};
pub use resync::{ResyncRequest, Resyncs};
