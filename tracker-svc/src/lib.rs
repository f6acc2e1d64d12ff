//! aTES tracker-svc: tasks, fixed prices, random assignment, reshuffles, completion, task events.
//!
//! - `domain/`: prices, descriptions, picking an assignee (no I/O).
//! - `storage/`: accounts (the tracker's copy), tasks, assignments.
//! - `tasks`: task operations, each committed with its events.
//! - `events/`: auth's account events, consumed through the inbox.
//! - `grpc/`: `ates.tracker.v1.TrackerService`.
//! - `app`: wiring into the shared service process.

pub mod app;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod storage;
pub mod tasks;
