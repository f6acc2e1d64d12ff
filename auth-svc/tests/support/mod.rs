//! A real auth-svc on a free port, with its own database and broker prefix.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use ates_contracts::ates::auth::v1 as api;
use ates_contracts::ates::auth::v1::auth_service_client::AuthServiceClient;
use ates_server::{Application, ServiceConfig};
use ates_testkit::{HealthStatus, TestBroker, TestDatabase, wait_for_health};
pub use auth_svc::config::AuthConfig;
use auth_svc::domain::Email;
use secrecy::{SecretBox, SecretString};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const ADMIN_EMAIL: &str = "admin@uberpopug.test";
pub const ADMIN_BEAK: &str = "bootstrap-admin-beak-for-tests-0123456789";
pub const MAX_FAILURES: u32 = 5;

pub struct Auth {
    pub database: TestDatabase,
    pub broker: TestBroker,
    pub address: SocketAddr,
    shutdown: CancellationToken,
    running: JoinHandle<()>,
    /// Stops the service when the test drops it.
    _stop_on_drop: tokio_util::sync::DropGuard,
}

impl Auth {
    pub async fn start() -> Self {
        Self::start_configured(auth_config()).await
    }

    /// Starts auth on a fresh database and prefix with explicit settings.
    pub async fn start_configured(auth_config: AuthConfig) -> Self {
        let database = TestDatabase::create().await.unwrap();
        let mut broker = TestBroker::shared();
        let topology = ates_messaging::Topology::new(broker.prefix());
        broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
        Self::start_with(database, broker, auth_config).await
    }

    /// Starts auth on an existing database and prefix (a restart).
    pub async fn start_on(database: TestDatabase, broker: TestBroker) -> Self {
        Self::start_with(database, broker, auth_config()).await
    }

    /// Starts auth with explicit settings.
    pub async fn start_with(
        database: TestDatabase,
        broker: TestBroker,
        auth_config: AuthConfig,
    ) -> Self {
        let config = ServiceConfig {
            listen_address: "127.0.0.1:0".parse().unwrap(),
            database_url: SecretString::from(database.url().to_owned()),
            database_pool_size: 8,
            amqp_url: SecretString::from(broker.url().to_owned()),
            amqp_name_prefix: broker.prefix().to_owned(),
            auth_url: "http://127.0.0.1:1".to_owned(),
            token_issuer: "ates-auth".to_owned(),
            token_audience: "ates".to_owned(),
            shutdown_grace: Duration::from_secs(5),
            production: false,
        };
        let application = Application::build(auth_svc::app::spec(), config)
            .await
            .unwrap();
        let address = application.local_address();
        let shutdown = application.shutdown_token();
        let wiring = auth_svc::app::wiring_with(&application, auth_config);
        let running = tokio::spawn(async move {
            application.run_until_stopped(wiring).await.unwrap();
        });
        let status = wait_for_health(
            &format!("http://{address}"),
            HealthStatus::Serving,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(status, HealthStatus::Serving);
        let _stop_on_drop = shutdown.clone().drop_guard();
        Self {
            database,
            broker,
            address,
            shutdown,
            running,
            _stop_on_drop,
        }
    }

    /// Stops auth as SIGTERM would and hands back its database and prefix.
    pub async fn stop(self) -> (TestDatabase, TestBroker) {
        let Self {
            database,
            broker,
            shutdown,
            running,
            ..
        } = self;
        shutdown.cancel();
        running.await.unwrap();
        (database, broker)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn client(&self) -> AuthServiceClient<Channel> {
        self.client_from(None).await
    }

    /// A client whose connections come from `local` (a loopback address of its own).
    pub async fn client_from(&self, local: Option<std::net::IpAddr>) -> AuthServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(self.endpoint())
            .unwrap()
            .local_address(local)
            .connect()
            .await
            .unwrap();
        AuthServiceClient::new(channel)
    }

    pub async fn sign_in(&self, beak: &str) -> api::SignInResponse {
        self.client()
            .await
            .sign_in(api::SignInRequest {
                beak: beak.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn admin_token(&self) -> String {
        self.sign_in(ADMIN_BEAK).await.access_token
    }

    /// Creates an account as the bootstrap admin; returns it and its beak.
    pub async fn create(&self, email: &str, role: api::Role) -> (api::Account, String) {
        let token = self.admin_token().await;
        let response = self
            .client()
            .await
            .create_account(signed(
                api::CreateAccountRequest {
                    email: email.to_owned(),
                    role: role as i32,
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        (response.account.unwrap(), response.beak)
    }
}

pub fn auth_config() -> AuthConfig {
    AuthConfig {
        beak_key: SecretString::from("test-beak-key"),
        key_encryption_key: SecretBox::new(Box::new([7_u8; 32])),
        token_lifetime: Duration::from_secs(900),
        key_retirement_leeway: Duration::from_secs(60),
        bootstrap_admin: Some((
            Email::parse(ADMIN_EMAIL).unwrap(),
            SecretString::from(ADMIN_BEAK),
        )),
        sign_in_max_failures: MAX_FAILURES,
        sign_in_window: Duration::from_secs(60),
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
