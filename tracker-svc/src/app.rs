//! Wiring of tracker-svc into the shared service process.

use std::sync::Arc;
use std::time::Duration;

use ates_contracts::ates::tracker::v1::tracker_service_server::TrackerServiceServer;
use ates_contracts::routing::{self, Service};
use ates_server::{Application, Housekeeping, ServiceSpec, Wiring, env_or, positive};
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

/// Default hours a request key (idempotency key) is kept.
pub const DEFAULT_REQUEST_KEY_RETENTION_HOURS: u64 = 72;

/// tracker-svc's wiring from the process environment (`TRACKER_REASSIGNMENT_BATCH_SIZE`,
/// `TRACKER_REQUEST_KEY_RETENTION_HOURS`).
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    let batch_size: usize = env_or("TRACKER_REASSIGNMENT_BATCH_SIZE", "500")?;
    anyhow::ensure!(
        batch_size > 0,
        "TRACKER_REASSIGNMENT_BATCH_SIZE must be positive"
    );
    let retention_hours = positive(
        "TRACKER_REQUEST_KEY_RETENTION_HOURS",
        &DEFAULT_REQUEST_KEY_RETENTION_HOURS.to_string(),
    )?;
    Ok(wiring_for(
        application,
        batch_size,
        Duration::from_secs(retention_hours.saturating_mul(3600)),
    ))
}

/// tracker-svc's wiring with an explicit batch size and the default key retention (tests build
/// it this way).
pub fn wiring_with(application: &Application, reassignment_batch_size: usize) -> Wiring {
    wiring_for(
        application,
        reassignment_batch_size,
        Duration::from_secs(DEFAULT_REQUEST_KEY_RETENTION_HOURS * 3600),
    )
}

fn wiring_for(
    application: &Application,
    reassignment_batch_size: usize,
    request_key_retention: Duration,
) -> Wiring {
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
        // A retry after this acts as a new call.
        housekeeping: vec![Housekeeping::pruning(
            "request keys",
            application.pool(),
            "request_keys",
            "created_at",
            request_key_retention,
        )],
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(TrackerServiceServer::new(TrackerApi { tasks }));
    wiring
}
