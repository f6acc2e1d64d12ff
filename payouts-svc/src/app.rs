//! Wiring of payouts-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

use crate::config::PayoutsConfig;

/// What is fixed about payouts-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Payouts,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: true,
        uses_broker: true,
        grpc_web: false,
    }
}

/// payouts-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    Ok(wiring_with(application, PayoutsConfig::from_env()?))
}

/// payouts-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(_application: &Application, _config: PayoutsConfig) -> Wiring {
    Wiring::default()
}
