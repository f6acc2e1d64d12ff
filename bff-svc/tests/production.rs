//! The real bff-svc binary starts in production with only the settings its deployment gives it:
//! it holds no data, so it needs neither a database nor a broker URL, only accounting's address.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ates_testkit::{ChildProcess, HealthStatus, wait_for_health};

#[tokio::test(flavor = "multi_thread")]
async fn in_production_the_bff_serves_without_database_or_broker_settings() {
    let port = ates_testkit::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_bff-svc"));
    command
        .env_clear()
        .env("ATES_PROFILE", "production")
        .env("GRPC_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTH_URL", "http://127.0.0.1:1")
        .env("ACCOUNTING_URL", "http://127.0.0.1:1")
        .env("WEB_ALLOWED_ORIGINS", "https://ates.example.com")
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "warn");
    let mut service = ChildProcess::spawn("bff-svc", command).unwrap();
    assert_eq!(
        wait_for_health(&endpoint, HealthStatus::Serving, Duration::from_secs(30)).await,
        HealthStatus::Serving
    );
    assert!(
        service
            .terminate(Duration::from_secs(15))
            .await
            .unwrap()
            .success(),
        "bff-svc stops cleanly on SIGTERM"
    );
}
