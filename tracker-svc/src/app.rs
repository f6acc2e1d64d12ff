//! Wiring of tracker-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

/// What is fixed about tracker-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Tracker,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: true,
        uses_broker: true,
    }
}

/// tracker-svc's gRPC services and event handlers.
pub fn wiring(_application: &Application) -> anyhow::Result<Wiring> {
    Ok(Wiring::default())
}
