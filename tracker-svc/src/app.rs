//! Wiring of tracker-svc into the shared service process.

use std::sync::Arc;

use ates_contracts::ates::tracker::v1::tracker_service_server::TrackerServiceServer;
use ates_contracts::routing::{self, Service};
use ates_server::{Application, ServiceSpec, Wiring, env_or};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::events::AccountsHandler;
use crate::grpc::TrackerApi;
use crate::tasks::Tasks;

/// The tracker's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Default most assignments per TasksReassigned event.
pub const DEFAULT_REASSIGNMENT_BATCH_SIZE: usize = 500;

/// What is fixed about tracker-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Tracker,
        grpc_services: &["ates.tracker.v1.TrackerService"],
        public_methods: &[],
        migrations: Some(&MIGRATIONS),
        uses_database: true,
        uses_broker: true,
    }
}

/// tracker-svc's wiring from the process environment (`TRACKER_REASSIGNMENT_BATCH_SIZE`).
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    let batch_size: usize = env_or("TRACKER_REASSIGNMENT_BATCH_SIZE", "500")?;
    anyhow::ensure!(
        batch_size > 0,
        "TRACKER_REASSIGNMENT_BATCH_SIZE must be positive"
    );
    Ok(wiring_with(application, batch_size))
}

/// tracker-svc's wiring with an explicit batch size (tests build it this way).
pub fn wiring_with(application: &Application, reassignment_batch_size: usize) -> Wiring {
    let tasks = Tasks::new(
        application.pool(),
        application.outbox(),
        reassignment_batch_size,
    );
    let accounts = routing::subscriptions_of(Service::Tracker)
        .into_iter()
        .find(|subscription| subscription.exchange == routing::AUTH_ACCOUNTS)
        .expect("the routing table gives the tracker a queue on auth's accounts");
    let mut wiring = Wiring {
        consumers: vec![(accounts, Arc::new(AccountsHandler))],
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(TrackerServiceServer::new(TrackerApi { tasks }));
    wiring
}
