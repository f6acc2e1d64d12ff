//! The payouts-svc process: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ates_server::run_service(payouts_svc::app::spec(), payouts_svc::app::wiring).await
}
