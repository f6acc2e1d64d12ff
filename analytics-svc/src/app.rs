//! Wiring of analytics-svc into the shared service process.

use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

/// What is fixed about analytics-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Analytics,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: true,
        uses_broker: true,
    }
}

/// analytics-svc's gRPC services and event handlers.
pub fn wiring(_application: &Application) -> anyhow::Result<Wiring> {
    Ok(Wiring::default())
}
