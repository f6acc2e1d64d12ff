//! Wiring of analytics-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

use crate::config::AnalyticsConfig;

/// What is fixed about analytics-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Analytics,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: true,
        uses_broker: true,
        grpc_web: true,
    }
}

/// analytics-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    Ok(wiring_with(application, AnalyticsConfig::from_env()?))
}

/// analytics-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(_application: &Application, _config: AnalyticsConfig) -> Wiring {
    Wiring::default()
}
