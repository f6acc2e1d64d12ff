//! The bff-svc process: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ates_server::run_service(bff_svc::app::spec(), bff_svc::app::wiring).await
}
