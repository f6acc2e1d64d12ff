//! aTES payouts-svc: the end-of-day close: payouts, e-mails and bill-zeroed events.
//!
//! The shape every aTES service has:
//! - `app`: the service's spec and its wiring (handlers, the scheduled close, the e-mail senders).
//! - `config`: payouts' own settings (`PAYOUTS_*`, `SMTP_URL`, `BUSINESS_TIME_ZONE`).
//! - `domain/`: what an account is due, the close schedule, the payout e-mail, retries (no I/O).
//! - `operations/`: closing dates (payouts, e-mails and events in one transaction per batch);
//!   sending e-mails with a lease.
//! - `storage/`: accounts, daily earnings, closes, payouts, e-mails.
//! - `grpc/`: `ates.payouts.v1.PayoutsService` and its proto conversions.
//! - `events/`: account and bill events consumed (`inbound`), `BillZeroed` produced (`outbound`).
//! - `error`: payouts' errors and their one mapping to gRPC statuses.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod operations;
pub mod storage;
