//! The analytics-svc process: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ates_server::run_service(analytics_svc::app::spec(), analytics_svc::app::wiring).await
}
