//! A real service, in this process, on a free port: its gRPC server, readiness, relay and
//! consumers, exactly as its binary runs them.

use std::net::SocketAddr;
use std::time::Duration;

use ates_server::{Application, ServiceConfig, ServiceSpec, Wiring};
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::{HealthStatus, TestBroker, wait_for_health};

/// Settings for a service under test: port 0, the given database, the test's broker and prefix.
pub fn service_config(database_url: &str, broker: &TestBroker, auth_url: &str) -> ServiceConfig {
    ServiceConfig {
        listen_address: "127.0.0.1:0".parse().expect("a literal address"),
        database_url: SecretString::from(database_url.to_owned()),
        database_pool_size: 8,
        amqp_url: SecretString::from(broker.url().to_owned()),
        amqp_name_prefix: broker.prefix().to_owned(),
        auth_url: auth_url.to_owned(),
        token_issuer: "ates-auth".to_owned(),
        token_audience: "ates".to_owned(),
        token_leeway: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
        inbox_retention: Duration::from_secs(30 * 24 * 60 * 60),
        housekeeping_interval: Duration::from_secs(1),
        web_allowed_origins: vec!["http://127.0.0.1:50055".to_owned()],
        parked_event_types: Vec::new(),
        metrics_listen_address: None,
        production: false,
    }
}

/// A service running in this process; stopped when dropped.
#[derive(Debug)]
pub struct RunningService {
    address: SocketAddr,
    shutdown: CancellationToken,
    running: JoinHandle<()>,
    _stop_on_drop: DropGuard,
}

impl RunningService {
    /// Builds the service, wires it with `wiring`, runs it, and waits until it reports SERVING.
    pub async fn start<F>(
        spec: ServiceSpec,
        config: ServiceConfig,
        wiring: F,
    ) -> anyhow::Result<Self>
    where
        F: FnOnce(&Application) -> anyhow::Result<Wiring>,
    {
        let service = spec.service.binary_name();
        let application = Application::build(spec, config).await?;
        let address = application.local_address();
        let shutdown = application.shutdown_token();
        let wiring = wiring(&application)?;
        let running = tokio::spawn(async move {
            if let Err(error) = application.run_until_stopped(wiring).await {
                tracing::error!(error = %error, "service under test failed");
            }
        });
        let status = wait_for_health(
            &format!("http://{address}"),
            HealthStatus::Serving,
            Duration::from_secs(30),
        )
        .await;
        anyhow::ensure!(
            status == HealthStatus::Serving,
            "{service} did not become SERVING: {status:?}"
        );
        let _stop_on_drop = shutdown.clone().drop_guard();
        Ok(Self {
            address,
            shutdown,
            running,
            _stop_on_drop,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://address`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops it as SIGTERM would and waits until it has.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.running.await;
    }
}
