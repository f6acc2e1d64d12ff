//! Wiring of accounting-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

/// What is fixed about accounting-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Accounting,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: true,
        uses_broker: true,
    }
}

/// accounting-svc's gRPC services and event handlers.
pub fn wiring(_application: &Application) -> anyhow::Result<Wiring> {
    Ok(Wiring::default())
}
