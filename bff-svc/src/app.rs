//! Wiring of bff-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

/// What is fixed about bff-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Bff,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: false,
        uses_broker: false,
    }
}

/// bff-svc's gRPC services and event handlers.
pub fn wiring(_application: &Application) -> anyhow::Result<Wiring> {
    Ok(Wiring::default())
}
