//! The real tracker-svc binary reports NOT_SERVING while its database or broker is unreachable,
//! SERVING once both are there, and stops cleanly on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ates_testkit::{
    ChildProcess, HealthStatus, TcpGate, TestBroker, TestDatabase, wait_for_health,
};

#[tokio::test(flavor = "multi_thread")]
async fn the_service_is_not_serving_until_database_and_broker_are_reachable() {
    let database = TestDatabase::create().await.unwrap();
    let mut broker = TestBroker::shared();
    let topology = ates_messaging::Topology::new(broker.prefix());
    broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
    let database_gate = TcpGate::closed(ates_testkit::socket_address_of(database.url()).unwrap());
    let broker_gate = TcpGate::closed(ates_testkit::socket_address_of(broker.url()).unwrap());
    let gated = |url: &str, port: u16| {
        let target = ates_testkit::socket_address_of(url).unwrap();
        url.replacen(
            &format!("{}:{}", target.ip(), target.port()),
            &format!("127.0.0.1:{port}"),
            1,
        )
        .replacen(
            &format!("localhost:{}", target.port()),
            &format!("127.0.0.1:{port}"),
            1,
        )
    };
    let port = ates_testkit::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracker-svc"));
    command
        .env("GRPC_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", gated(database.url(), database_gate.port()))
        .env("AMQP_URL", gated(broker.url(), broker_gate.port()))
        .env("AMQP_NAME_PREFIX", broker.prefix())
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "warn");
    let mut service = ChildProcess::spawn("tracker-svc", command).unwrap();

    // Both closed: the server answers, and says it is not serving.
    assert_eq!(
        wait_for_health(&endpoint, HealthStatus::NotServing, Duration::from_secs(30)).await,
        HealthStatus::NotServing
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        ates_testkit::health_status(&endpoint, "").await,
        HealthStatus::NotServing
    );

    // The database alone is not enough.
    database_gate.open().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ates_testkit::health_status(&endpoint, "").await,
        HealthStatus::NotServing
    );

    // With the broker too, it becomes ready.
    broker_gate.open().await.unwrap();
    assert_eq!(
        wait_for_health(&endpoint, HealthStatus::Serving, Duration::from_secs(30)).await,
        HealthStatus::Serving
    );

    let status = service
        .terminate(Duration::from_secs(15))
        .await
        .expect("tracker-svc stops on SIGTERM");
    assert!(status.success(), "tracker-svc exited with {status}");
}

#[test]
fn in_production_a_missing_setting_stops_the_service_naming_it() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tracker-svc"))
        .env_clear()
        .env("ATES_PROFILE", "production")
        .env("LOG_FORMAT", "text")
        .env("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .env("AUTH_URL", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("missing environment variable DATABASE_URL"),
        "{stderr}"
    );
}
