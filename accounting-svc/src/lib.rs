//! aTES accounting-svc: the double-entry ledger, balances, the audit log, management earnings.
//!
//! The shape every aTES service has:
//! - `app`: the service's spec and its wiring into the shared process.
//! - `config`: accounting's own settings (`BUSINESS_TIME_ZONE`).
//! - `domain/`: postings (balanced legs with a business key), earnings, access to the books,
//!   business dates (no I/O).
//! - `operations/`: settling events into the ledger with the events that causes; reading
//!   statements, balances and earnings.
//! - `storage/`: postings, immutable entries, balances kept by a trigger, task descriptions.
//! - `grpc/`: `ates.accounting.v1.AccountingService` and its proto conversions.
//! - `events/`: task, description and payout events consumed (`inbound`); bill and audit-log
//!   events produced (`outbound`); the state sent again for a resync (`snapshots`).
//! - `error`: accounting's errors and their one mapping to gRPC statuses.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod operations;
pub mod storage;
