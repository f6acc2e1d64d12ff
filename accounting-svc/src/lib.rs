//! aTES accounting-svc: the double-entry ledger, balances, the audit log, management earnings.
//!
//! - `domain/`: postings (balanced legs with a business key) and business dates (no I/O).
//! - `storage/`: postings, immutable entries, balances kept by a trigger, task descriptions.
//! - `events/`: task, description and payout events applied through the inbox; bill and
//!   audit-log events recorded in the same transaction.
//! - `grpc/`: `ates.accounting.v1.AccountingService`.
//! - `app`: wiring into the shared service process.

pub mod app;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod storage;
