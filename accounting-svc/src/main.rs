//! The accounting-svc process: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ates_server::run_service(accounting_svc::app::spec(), accounting_svc::app::wiring).await
}
