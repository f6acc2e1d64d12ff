//! aTES auth-svc: accounts, beak sign-in to JWT, signing keys and account events.
//!
//! The shape every aTES service has:
//! - `app`: the service's spec and its wiring into the shared process.
//! - `config`: auth's own settings (`AUTH_*`).
//! - `domain/`: emails, beaks and their keyed digests, role rules, sign-in throttling, sealing
//!   of signing keys (no I/O).
//! - `operations/`: account changes and key rotation, each committed with its events.
//! - `storage/`: the accounts and signing_keys tables.
//! - `grpc/`: `ates.auth.v1.AuthService` and its proto conversions.
//! - `events/`: every event auth produces (`outbound`), the state it sends again for a resync
//!   (`snapshots`); it consumes only resync requests (`inbound`).
//! - `error`: auth's errors and their one mapping to gRPC statuses.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod operations;
pub mod storage;
