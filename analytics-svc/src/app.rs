//! Wiring of analytics-svc into the shared service process.

use std::sync::Arc;

use ates_contracts::ates::analytics::v1::analytics_service_server::AnalyticsServiceServer;
use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, StartupTask, Wiring};
use chrono::Utc;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::config::AnalyticsConfig;
use crate::events::inbound::{AccountsHandler, AuditLogHandler, BillsHandler, TasksHandler};
use crate::grpc::AnalyticsApi;
use crate::operations::{Answers, Resyncs};

/// analytics' tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// What is fixed about analytics-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Analytics,
        grpc_services: &["ates.analytics.v1.AnalyticsService"],
        public_methods: &[],
        migrations: Some(&MIGRATIONS),
        uses_database: true,
        uses_broker: true,
        grpc_web: true,
    }
}

/// analytics-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    Ok(wiring_with(application, AnalyticsConfig::from_env()?))
}

/// analytics-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(application: &Application, config: AnalyticsConfig) -> Wiring {
    let answers = Answers::new(application.pool(), config.calendar);
    let resyncs = Resyncs::new(application.pool(), application.outbox());
    let first = resyncs.clone();
    // A database that never had a resync (a new one, or one replacing a lost one) asks the
    // producers for everything that happened before it.
    let on_ready: StartupTask = Arc::new(move || {
        let resyncs = first.clone();
        Box::pin(async move {
            resyncs.request_first(Utc::now()).await?;
            Ok(())
        })
    });
    let mut wiring = Wiring {
        handlers: vec![
            ates_messaging::subscriber(AccountsHandler),
            ates_messaging::subscriber(TasksHandler),
            ates_messaging::subscriber(BillsHandler),
            ates_messaging::subscriber(AuditLogHandler),
        ],
        on_ready: Some(on_ready),
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(AnalyticsServiceServer::new(AnalyticsApi {
            answers,
            resyncs,
        }));
    wiring
}
