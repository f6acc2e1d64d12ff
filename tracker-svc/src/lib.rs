//! aTES tracker-svc: tasks, fixed prices, random assignment, reshuffles, completion, task events.
//!
//! The shape every aTES service has:
//! - `app`: the service's spec and its wiring into the shared process.
//! - `config`: the tracker's own settings (`TRACKER_*`).
//! - `domain/`: descriptions, prices, a task's life, who may be assigned (no I/O).
//! - `operations/`: task changes and idempotency keys, each committed with its events.
//! - `storage/`: accounts (the tracker's copy), tasks, assignments, request keys.
//! - `grpc/`: `ates.tracker.v1.TrackerService` and its proto conversions.
//! - `events/`: auth's account events consumed (`inbound`), every task event produced
//!   (`outbound`), the state sent again for a resync (`snapshots`).
//! - `error`: the tracker's errors and their one mapping to gRPC statuses.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod operations;
pub mod storage;
