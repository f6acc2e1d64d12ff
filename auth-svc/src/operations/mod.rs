//! auth's operations: each opens its transaction, applies the domain's rules, and records the
//! events the change causes in the same transaction.

pub mod accounts;
pub mod keys;

pub use accounts::Accounts;
pub use keys::{KeyError, KeyRing, LocalKeySource, PublishedKey};
