//! Wiring of bff-svc into the shared service process.

use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::bff::v1::accounting_dashboard_service_server::AccountingDashboardServiceServer;
use ates_contracts::routing::Service;
use ates_server::{Application, ServiceSpec, Wiring};

use crate::config::BffConfig;
use crate::grpc::DashboardApi;

/// What is fixed about bff-svc.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Bff,
        grpc_services: &["ates.bff.v1.AccountingDashboardService"],
        public_methods: &[],
        migrations: None,
        uses_database: false,
        uses_broker: false,
        grpc_web: true,
    }
}

/// bff-svc's wiring from the process environment.
pub fn wiring(application: &Application) -> anyhow::Result<Wiring> {
    wiring_with(
        application,
        BffConfig::from_env(application.config().production)?,
    )
}

/// bff-svc's wiring with explicit settings (tests build it this way). The channel to
/// accounting connects lazily: the BFF serves while accounting is down, and its calls then
/// answer UNAVAILABLE.
pub fn wiring_with(_application: &Application, config: BffConfig) -> anyhow::Result<Wiring> {
    let channel =
        ates_server::propagating_channel(&config.accounting_url, config.accounting_timeout)?;
    let mut wiring = Wiring {
        http_routes: Some(crate::web::routes(&config.web)),
        ..Wiring::default()
    };
    wiring
        .routes
        .add_service(AccountingDashboardServiceServer::new(DashboardApi::new(
            AccountingServiceClient::new(channel),
        )));
    Ok(wiring)
}
