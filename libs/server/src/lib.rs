//! Everything an aTES service process shares: typed configuration from the environment, the
//! gRPC server with the standard health and reflection services and the token layer, readiness
//! (NOT_SERVING until the database is migrated and the broker reachable), the outbox relay and
//! event consumers, and graceful shutdown on SIGTERM or Ctrl-C.
//!
//! A service's `main` is a few lines:
//!
//! ```text
//! let config = ServiceConfig::from_env(&spec())?;
//! let application = Application::build(spec(), config).await?;
//! application.run_until_stopped(routes, consumers).await
//! ```

mod application;
mod config;
pub mod paging;

pub use application::{Application, Housekeeping, ServiceSpec, StartupTask, Wiring};
pub use config::{ConfigError, ServiceConfig, env_or, env_required, positive};

/// Parses the process environment, installs telemetry, builds and runs a service until SIGTERM
/// or Ctrl-C. The shape every service's `main` shares.
pub async fn run_service<F>(spec: ServiceSpec, routes: F) -> anyhow::Result<()>
where
    F: FnOnce(&Application) -> anyhow::Result<Wiring>,
{
    let telemetry = ates_telemetry::init(spec.service.binary_name())?;
    let result = async {
        let config = ServiceConfig::from_env(&spec)?;
        let application = Application::build(spec, config).await?;
        let wiring = routes(&application)?;
        application.run_until_stopped(wiring).await
    }
    .await;
    if let Err(error) = &result {
        tracing::error!(error = %format!("{error:#}"), "service stopped with an error");
    }
    telemetry.shutdown();
    result
}
