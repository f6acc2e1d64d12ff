//! payouts' rules, free of storage and transport: what an account is due at a close, when a
//! business date may and must be closed, the payout e-mail, and how failed e-mails are retried.

mod email;
mod money;
mod payout;
mod schedule;

pub use email::{PayoutEmail, retry_delay};
pub use money::dollars;
pub use payout::amount_due;
pub use schedule::CloseSchedule;
