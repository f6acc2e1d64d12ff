//! Accounting's operations: settling what events carry into the ledger (with the events that
//! causes), and reading statements, balances and earnings.

pub mod ledger;
pub mod statements;

pub use ledger::Settlement;
pub use statements::{Statement, Statements};
