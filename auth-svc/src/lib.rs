//! aTES auth-svc: accounts, beak sign-in to JWT, signing keys and account events.
//!
//! - `domain/`: emails, beaks and their keyed digests, sign-in throttling (no I/O).
//! - `storage/`: the accounts table.
//! - `keys`: Ed25519 signing keys, encrypted at rest, rotated on request.
//! - `accounts`: account changes, each committed with its events.
//! - `grpc/`: `ates.auth.v1.AuthService`.
//! - `app`: wiring into the shared service process.

pub mod accounts;
pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod keys;
pub mod storage;
