//! aTES tracker-svc: tasks, fixed prices, random assignment, reshuffles and task events.
//!
//! This service is not built yet: today it is the shared skeleton every aTES service has (gRPC
//! server with health and reflection, readiness, graceful shutdown, its database migrated, its queues declared). See the README's service table.

pub mod app;
