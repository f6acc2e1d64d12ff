//! The auth-svc process: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ates_server::run_service(auth_svc::app::spec(), auth_svc::app::wiring).await
}
