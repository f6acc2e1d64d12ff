//! Wiring of accounting-svc into the shared service process.

use std::sync::Arc;

use ates_contracts::ates::accounting::v1::accounting_service_server::AccountingServiceServer;
use ates_contracts::routing::{self, Service};
use ates_server::{Application, ServiceSpec, Wiring, env_or};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use crate::domain::BusinessCalendar;
use crate::events::LedgerHandler;
use crate::grpc::AccountingApi;

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
    }
}

/// accounting-svc's wiring from the process environment (`BUSINESS_TIME_ZONE`, an IANA name,
/// default `UTC`).
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    let zone: String = env_or("BUSINESS_TIME_ZONE", "UTC")?;
    let zone: chrono_tz::Tz = zone.parse().map_err(|_| {
        anyhow::anyhow!("BUSINESS_TIME_ZONE `{zone}` is not an IANA time zone name")
    })?;
    Ok(wiring_with(application, BusinessCalendar::new(zone)))
}

/// accounting-svc's wiring with an explicit calendar (tests build it this way).
pub fn wiring_with(application: &Application, calendar: BusinessCalendar) -> Wiring {
    let handler = Arc::new(LedgerHandler::new(application.outbox(), calendar));
    let consumers = routing::subscriptions_of(Service::Accounting)
        .into_iter()
        .map(|subscription| {
            (
                subscription,
                Arc::clone(&handler) as Arc<dyn ates_messaging::Handler>,
            )
        })
        .collect();
    // One session per queue: every posting updates its employee's balance row, and parallel
    // sessions taking those rows in different orders would deadlock each other.
    let consumer_config = ates_messaging::ConsumerConfig {
        sessions: 1,
        ..ates_messaging::ConsumerConfig::default()
    };
    let mut wiring = Wiring {
        consumers,
        consumer_config: Some(consumer_config),
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(AccountingServiceServer::new(AccountingApi {
            pool: application.pool(),
            calendar,
        }));
    wiring
}
