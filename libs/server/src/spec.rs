//! What a service is (its spec) and what it plugs into the shared process (its wiring).

use std::sync::Arc;

use ates_contracts::routing::Service;
use ates_messaging::snapshot::{SnapshotSource, Snapshots};
use ates_messaging::{ConsumerConfig, QueueHandler};
use ates_token::Verifier;
use diesel_migrations::EmbeddedMigrations;
use tonic::service::RoutesBuilder;

use crate::Application;
use crate::workers::{Housekeeping, Worker};

/// What is fixed about a service, as opposed to its configuration.
#[derive(Clone)]
pub struct ServiceSpec {
    /// Which service this is.
    pub service: Service,
    /// Fully qualified names of the gRPC services it serves (`ates.tracker.v1.TrackerService`):
    /// each gets a health status and is listed by reflection.
    pub grpc_services: &'static [&'static str],
    /// Full method paths that need no token (`/ates.auth.v1.AuthService/SignIn`).
    pub public_methods: &'static [&'static str],
    /// The service's own migrations, run after the outbox and inbox ones.
    pub migrations: Option<&'static EmbeddedMigrations>,
    /// Whether it has a database (readiness waits until it is migrated).
    pub uses_database: bool,
    /// Whether it uses the broker (readiness waits until its topology is declared).
    pub uses_broker: bool,
    /// Whether browsers call it: gRPC-web over HTTP/1.1 and HTTP/2 on the same port, with CORS
    /// for the origins in `WEB_ALLOWED_ORIGINS`.
    pub grpc_web: bool,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ServiceSpec")
            .field("service", &self.service)
            .field("grpc_services", &self.grpc_services)
            .field("grpc_web", &self.grpc_web)
            .finish_non_exhaustive()
    }
}

/// What a service plugs into the shared process.
#[derive(Default)]
pub struct Wiring {
    /// The service's gRPC services; health and reflection are added by the application.
    pub routes: RoutesBuilder,
    /// Plain HTTP routes served on the same port beside gRPC (the BFF's web app): every request
    /// that is not gRPC or gRPC-web goes here.
    pub http_routes: Option<axum::Router>,
    /// The service's event handlers ([`ates_messaging::subscriber`]); each is bound to the
    /// queues whose event types it reads, and the service refuses to start when they and the
    /// routing table disagree.
    pub handlers: Vec<Arc<dyn QueueHandler>>,
    /// How the consumers pace themselves; `None` for the defaults.
    pub consumer_config: Option<ConsumerConfig>,
    /// Verifies access tokens; `None` means auth's keys fetched over gRPC from `AUTH_URL`.
    pub verifier: Option<Arc<Verifier>>,
    /// Runs once the database is migrated and the broker reachable, before the service reports
    /// SERVING; retried with back-off until it succeeds.
    pub on_ready: Option<crate::StartupTask>,
    /// Clean-up run every `HOUSEKEEPING_INTERVAL_SECONDS` while the service runs, beside the
    /// pruning of expired inbox ids that every consuming service gets.
    pub housekeeping: Vec<Housekeeping>,
    /// Long-running background work (a scheduler, a sender), started once the service is ready,
    /// restarted with back-off when it fails.
    pub workers: Vec<Worker>,
}

/// Items per snapshot event when a service sends its state for a resync.
pub const SNAPSHOT_BATCH_ITEMS: usize = 1_000;

impl Wiring {
    /// Answers resync requests with `source`'s state: adds the handler of `ResyncRequested` and
    /// the worker that sends the snapshot batches (see [`ates_messaging::snapshot`]).
    pub fn answer_resyncs<S: SnapshotSource>(&mut self, application: &Application, source: S) {
        let snapshots = Snapshots::new(
            application.pool(),
            application.outbox(),
            source,
            SNAPSHOT_BATCH_ITEMS,
        );
        self.handlers.push(snapshots.handler());
        self.workers.push(Worker::new("snapshots", move |shutdown| {
            let snapshots = snapshots.clone();
            async move { Ok(snapshots.run(shutdown).await?) }
        }));
    }
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Wiring")
            .field("handlers", &self.handlers.len())
            .field("workers", &self.workers)
            .field("http_routes", &self.http_routes.is_some())
            .finish_non_exhaustive()
    }
}
