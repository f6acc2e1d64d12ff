//! Wiring of bff-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

use crate::config::BffConfig;

/// What is fixed about bff-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Bff,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: false,
        uses_broker: false,
        grpc_web: true,
    }
}

/// bff-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    Ok(wiring_with(application, BffConfig::from_env()?))
}

/// bff-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(_application: &Application, _config: BffConfig) -> Wiring {
    Wiring::default()
}
