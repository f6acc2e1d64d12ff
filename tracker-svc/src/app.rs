//! Wiring of tracker-svc into the shared service process.

use ates_contracts::ates::tracker::v1::tracker_service_server::TrackerServiceServer;
use ates_contracts::routing::Service;
use ates_server::{Application, Housekeeping, ServiceSpec, Wiring};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::config::TaskEventsVersion;
use crate::config::TrackerConfig;
use crate::events::inbound::AccountsHandler;
use crate::events::outbound::TaskEvents;
use crate::events::snapshots::TaskSnapshots;
use crate::grpc::TrackerApi;
use crate::operations::{Backfill, Tasks};

/// The tracker's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// What is fixed about tracker-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Tracker,
        grpc_services: &["ates.tracker.v1.TrackerService"],
        public_methods: &[],
        migrations: Some(&MIGRATIONS),
        uses_database: true,
        uses_broker: true,
        grpc_web: true,
    }
}

/// tracker-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    Ok(wiring_with(application, TrackerConfig::from_env()?))
}

/// tracker-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(application: &Application, config: TrackerConfig) -> Wiring {
    let events = TaskEvents::new(config.task_events_version);
    let tasks = Tasks::new(
        application.pool(),
        application.outbox(),
        config.reassignment_batch_size,
        events,
    );
    let mut wiring = Wiring {
        handlers: vec![ates_messaging::subscriber(AccountsHandler)],
        // A retry after this acts as a new call.
        housekeeping: vec![Housekeeping::pruning(
            "request keys",
            application.pool(),
            "request_keys",
            "created_at",
            config.request_key_retention,
        )],
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(TrackerServiceServer::new(TrackerApi { tasks }));
    wiring.answer_resyncs(application, TaskSnapshots { events });
    if config.task_events_version == TaskEventsVersion::V2 {
        let backfill = Backfill::new(
            application.pool(),
            application.outbox(),
            config.backfill_batch_size,
        );
        let interval = config.backfill_interval;
        wiring.workers.push(ates_server::Worker::new(
            "title backfill",
            move |shutdown| {
                let backfill = backfill.clone();
                async move { Ok(backfill.work(interval, shutdown).await?) }
            },
        ));
    }
    wiring
}
