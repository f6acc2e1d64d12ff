//! aTES bff-svc: the accounting dashboard's API over gRPC and gRPC-web. It holds no data: each
//! call is answered from accounting's, made with the caller's own token and trace.
//!
//! In the shape every service has, with empty modules where there is nothing:
//! - `app`: the service's spec and its wiring into the shared process.
//! - `config`: its own settings.
//! - `domain/`: pure rules (no I/O).
//! - `operations/`: the operations that open transactions and record events.
//! - `storage/`: its tables.
//! - `grpc/`: its gRPC API and proto conversions.
//! - `events/`: events consumed (`inbound`) and produced (`outbound`).
//! - `error`: its errors and their one mapping to gRPC statuses.
//! - `web`: the web app's files and the page's config, on the same port.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod operations;
pub mod storage;
pub mod web;
