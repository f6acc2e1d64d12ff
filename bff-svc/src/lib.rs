//! aTES bff-svc: the accounting dashboard API (gRPC and gRPC-web) in front of accounting.
//!
//! This service is not built yet: today it is the shared skeleton every aTES service has (gRPC
//! server with health and reflection, readiness, graceful shutdown). See the README's service table.

pub mod app;
