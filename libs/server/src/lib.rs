//! Everything an aTES service process shares: typed configuration from the environment, the
//! network edge (gRPC with health, reflection and the token layer; gRPC-web with CORS for
//! browsers; plain HTTP routes), readiness (NOT_SERVING until the database is migrated and the
//! broker reachable), the outbox relay, event consumers, supervised background workers, calls to
//! other services on the caller's behalf, and graceful shutdown on SIGTERM or Ctrl-C.
//!
//! A service's `main` is one call:
//!
//! ```text
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     ates_server::run_service(tracker_svc::app::spec(), tracker_svc::app::wiring).await
//! }
//! ```
//!
//! where `spec()` says what the service is ([`ServiceSpec`]) and `wiring(&Application)` builds
//! what it plugs in ([`Wiring`]: gRPC routes, event handlers, workers).

mod application;
mod config;
pub mod input;
mod metrics;
pub mod paging;
mod propagation;
mod readiness;
mod server;
mod shutdown;
mod spec;
mod status;
mod workers;

pub use application::{Application, StartupTask};
pub use ates_fault::fault_point;
pub use config::{
    ConfigError, ServiceConfig, business_calendar, default_port, env_or, env_required, positive,
};
pub use propagation::{
    CallerContext, CallerContextLayer, Propagate, PropagateLayer, propagating_channel,
};
pub use spec::{ServiceSpec, Wiring};
pub use status::{database_status, internal_status};
pub use workers::{Housekeeping, Worker};

/// Parses the process environment, installs telemetry, builds and runs a service until SIGTERM
/// or Ctrl-C. The shape every service's `main` shares.
pub async fn run_service<F>(spec: ServiceSpec, wiring: F) -> anyhow::Result<()>
where
    F: FnOnce(&Application) -> anyhow::Result<Wiring>,
{
    let telemetry = ates_telemetry::init(spec.service.binary_name())?;
    let result = async {
        let config = ServiceConfig::from_env(&spec)?;
        let application = Application::build(spec, config).await?;
        let wiring = wiring(&application)?;
        application.run_until_stopped(wiring).await
    }
    .await;
    if let Err(error) = &result {
        tracing::error!(error = %format!("{error:#}"), "service stopped with an error");
    }
    telemetry.shutdown();
    result
}
