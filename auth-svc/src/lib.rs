//! aTES auth-svc: accounts, beak sign-in, signing keys and account events.
//!
//! This service is not built yet: today it is the shared skeleton every aTES service has (gRPC
//! server with health and reflection, readiness, graceful shutdown, its database migrated, its queues declared). See the README's service table.

pub mod app;
