//! The real binaries as separate processes, each with a fresh database, on one broker prefix.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::auth::v1::auth_service_client::AuthServiceClient;
use ates_contracts::ates::tracker::v1::tracker_service_client::TrackerServiceClient;
use ates_testkit::{ChildProcess, HealthStatus, TestBroker, TestDatabase, wait_for_health};
use tonic::transport::Channel;

pub const ADMIN_EMAIL: &str = "admin@uberpopug.test";
pub const ADMIN_BEAK: &str = "system-test-admin-beak-0123456789abcdef";

/// A service binary built by `cargo build --bins` (which `make test` runs first).
fn binary(name: &str) -> PathBuf {
    // Tests run from target/<profile>/deps; the binaries sit one level up.
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = deps.parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the service binaries first (cargo build --bins)",
        path.display()
    );
    path
}

/// One running service process.
pub struct Process {
    pub name: &'static str,
    pub endpoint: String,
    pub database: Option<TestDatabase>,
    child: ChildProcess,
}

/// auth, tracker and accounting as processes.
pub struct System {
    pub broker: TestBroker,
    pub auth: Process,
    pub tracker: Process,
    pub accounting: Process,
}

async fn start(
    name: &'static str,
    database: TestDatabase,
    broker: &TestBroker,
    auth_url: &str,
    extra: &[(&str, &str)],
) -> Process {
    let port = ates_testkit::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(binary(name));
    command
        .env("GRPC_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database.url())
        .env("AMQP_URL", broker.url())
        .env("AMQP_NAME_PREFIX", broker.prefix())
        .env("AUTH_URL", auth_url)
        .env("RUST_LOG", "warn")
        .env("LOG_FORMAT", "text");
    for (key, value) in extra {
        command.env(key, value);
    }
    let child = ChildProcess::spawn(name, command).unwrap();
    let status = wait_for_health(&endpoint, HealthStatus::Serving, Duration::from_secs(60)).await;
    assert_eq!(
        status,
        HealthStatus::Serving,
        "{name} did not become SERVING"
    );
    Process {
        name,
        endpoint,
        database: Some(database),
        child,
    }
}

impl System {
    pub async fn start() -> Self {
        let mut broker = TestBroker::shared();
        let topology = ates_messaging::Topology::new(broker.prefix());
        broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
        let auth = start(
            "auth-svc",
            TestDatabase::create().await.unwrap(),
            &broker,
            "http://127.0.0.1:1",
            &[
                ("AUTH_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
                ("AUTH_BOOTSTRAP_ADMIN_BEAK", ADMIN_BEAK),
            ],
        )
        .await;
        let tracker = start(
            "tracker-svc",
            TestDatabase::create().await.unwrap(),
            &broker,
            &auth.endpoint,
            &[],
        )
        .await;
        let accounting = start(
            "accounting-svc",
            TestDatabase::create().await.unwrap(),
            &broker,
            &auth.endpoint,
            &[],
        )
        .await;
        Self {
            broker,
            auth,
            tracker,
            accounting,
        }
    }

    async fn channel(endpoint: &str) -> Channel {
        tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(Self::channel(&self.auth.endpoint).await)
    }

    pub async fn tracker(&self) -> TrackerServiceClient<Channel> {
        TrackerServiceClient::new(Self::channel(&self.tracker.endpoint).await)
    }

    pub async fn accounting(&self) -> AccountingServiceClient<Channel> {
        AccountingServiceClient::new(Self::channel(&self.accounting.endpoint).await)
    }

    /// Signs in with a beak; returns (account id, token).
    pub async fn sign_in(&self, beak: &str) -> (String, String) {
        let response = self
            .auth()
            .await
            .sign_in(auth::SignInRequest {
                beak: beak.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        (response.account.unwrap().account_id, response.access_token)
    }
}

/// `message` with `authorization: Bearer <token>`.
pub fn signed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}
