//! aTES payouts-svc: the end-of-day close: payouts, e-mails and bill-zeroed events.
//!
//! This service is not built yet: today it is the shared skeleton every aTES service has (gRPC
//! server with health and reflection, readiness, graceful shutdown, its database migrated, its queues declared). See the README's service table.

pub mod app;
