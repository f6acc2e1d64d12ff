//! Wiring of payouts-svc into the shared service process.

use std::sync::Arc;

use ates_contracts::ates::payouts::v1::payouts_service_server::PayoutsServiceServer;
use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring, Worker};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use tokio::sync::Notify;

use crate::config::PayoutsConfig;
use crate::events::inbound::{AccountsHandler, BillsHandler};
use crate::grpc::PayoutsApi;
use crate::operations::{Closer, Mailer};

/// payouts' tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// What is fixed about payouts-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Payouts,
        grpc_services: &["ates.payouts.v1.PayoutsService"],
        public_methods: &[],
        migrations: Some(&MIGRATIONS),
        uses_database: true,
        uses_broker: true,
        grpc_web: true,
    }
}

/// payouts-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    let config = PayoutsConfig::from_env(application.config())?;
    wiring_with(application, config)
}

/// payouts-svc's wiring with explicit settings (tests build it this way).
pub fn wiring_with(application: &Application, config: PayoutsConfig) -> anyhow::Result<Wiring> {
    let mail_waiting = Arc::new(Notify::new());
    let mailer = Mailer::new(application.pool(), &config.mail, Arc::clone(&mail_waiting))?;
    let closer = Closer::new(
        application.pool(),
        application.outbox(),
        config.schedule,
        config.close_batch_size,
        mailer.domain(),
        mail_waiting,
    );
    let scheduled = closer.clone();
    let mut workers = vec![Worker::new("scheduled close", move |shutdown| {
        let closer = scheduled.clone();
        async move { closer.run_schedule(shutdown).await }
    })];
    for _ in 0..config.email_senders {
        let mailer = mailer.clone();
        workers.push(Worker::new("payout e-mails", move |shutdown| {
            let mailer = mailer.clone();
            async move { mailer.run(shutdown).await }
        }));
    }
    let mut wiring = Wiring {
        handlers: vec![
            ates_messaging::subscriber(AccountsHandler),
            ates_messaging::subscriber(BillsHandler),
        ],
        workers,
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(PayoutsServiceServer::new(PayoutsApi { closer }));
    Ok(wiring)
}
