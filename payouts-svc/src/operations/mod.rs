//! payouts' operations: closing business dates (each batch of payouts committed with its
//! e-mails and BillZeroed events), sending the e-mails, reading payouts.

pub mod closes;
pub mod mail;

pub use closes::{CloseOutcome, Closer};
pub use mail::{Mailer, SendStep};
