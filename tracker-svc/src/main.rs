//! The tracker-svc process: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ates_server::run_service(tracker_svc::app::spec(), tracker_svc::app::wiring).await
}
