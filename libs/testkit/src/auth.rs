//! A real auth-svc in this process on a free port, with its own database and broker prefix:
//! tokens come from its SignIn, accounts from its CreateAccount.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::{RunningService, TestBroker, TestDatabase, signed};
use ates_contracts::ates::auth::v1 as api;
use ates_contracts::ates::auth::v1::auth_service_client::AuthServiceClient;
pub use auth_svc::config::AuthConfig;
use auth_svc::domain::Email;
use secrecy::{SecretBox, SecretString};
use tonic::transport::Channel;

pub const ADMIN_EMAIL: &str = "admin@uberpopug.test";
pub const ADMIN_BEAK: &str = "bootstrap-admin-beak-for-tests-0123456789";
pub const MAX_FAILURES: u32 = 5;

/// auth-svc running for a test.
#[derive(Debug)]
pub struct Auth {
    pub database: TestDatabase,
    pub broker: TestBroker,
    pub address: SocketAddr,
    service: RunningService,
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
        let config = crate::service_config(database.url(), &broker, "http://127.0.0.1:1");
        let service = RunningService::start(auth_svc::app::spec(), config, |application| {
            Ok(auth_svc::app::wiring_with(application, auth_config))
        })
        .await
        .unwrap();
        Self {
            database,
            broker,
            address: service.address(),
            service,
        }
    }

    /// Stops auth as SIGTERM would and hands back its database and prefix.
    pub async fn stop(self) -> (TestDatabase, TestBroker) {
        let Self {
            database,
            broker,
            service,
            ..
        } = self;
        service.stop().await;
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
        trusted_proxies: auth_svc::domain::TrustedProxies::default(),
    }
}
