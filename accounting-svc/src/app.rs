//! Wiring of accounting-svc into the shared service process.

use ates_contracts::ates::accounting::v1::accounting_service_server::AccountingServiceServer;
use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::config::AccountingConfig;
use crate::events::inbound::{AccountsHandler, LedgerHandler};
use crate::events::snapshots::LedgerSnapshots;
use crate::grpc::AccountingApi;
use crate::operations::Statements;

/// Accounting's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// What is fixed about accounting-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Accounting,
        grpc_services: &["ates.accounting.v1.AccountingService"],
        public_methods: &[],
        migrations: Some(&MIGRATIONS),
        uses_database: true,
        uses_broker: true,
        grpc_web: false,
    }
}

/// accounting-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    Ok(wiring_with(application, AccountingConfig::from_env()?))
}

/// accounting-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(application: &Application, config: AccountingConfig) -> Wiring {
    // One session per queue: every posting updates its employee's balance row, and parallel
    // sessions taking those rows in different orders would deadlock each other.
    let consumer_config = ates_messaging::ConsumerConfig {
        sessions: 1,
        ..ates_messaging::ConsumerConfig::default()
    };
    let mut wiring = Wiring {
        handlers: vec![
            ates_messaging::subscriber(LedgerHandler::new(config.calendar)),
            ates_messaging::subscriber(AccountsHandler),
        ],
        consumer_config: Some(consumer_config),
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(AccountingServiceServer::new(AccountingApi {
            statements: Statements::new(application.pool(), config.calendar),
        }));
    wiring.answer_resyncs(application, LedgerSnapshots);
    wiring
}
