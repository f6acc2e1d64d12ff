//! aTES analytics-svc: the admin analytics dashboard from its own projections of events.
//!
//! The shape every aTES service has:
//! - `app`: the service's spec and its wiring (four handlers, the first resync at start-up).
//! - `config`: analytics' own settings (`BUSINESS_TIME_ZONE`).
//! - `domain/`: periods and date ranges, the most expensive task rule, management's earnings,
//!   when a resync is complete (no I/O).
//! - `operations/`: the answers, read from the projections alone; resync requests.
//! - `storage/`: accounts, tasks, balances, the audit log with per-date totals, resyncs.
//! - `grpc/`: `ates.analytics.v1.AnalyticsService` and its proto conversions.
//! - `events/`: account, task, bill and audit-log events and their snapshots consumed
//!   (`inbound`); resync requests produced (`outbound`).
//! - `error`: analytics' errors and their one mapping to gRPC statuses.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod operations;
pub mod storage;
