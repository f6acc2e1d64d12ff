//! payouts's operations: each opens its transaction and records the events it causes. None yet.
