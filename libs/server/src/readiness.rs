//! Readiness: the service reports SERVING only once its database is migrated, its broker
//! topology declared and its start-up task done.

use std::time::Duration;

use ates_contracts::routing::Service;
use ates_messaging::{AmqpSettings, Backoff};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::{ServiceConfig, ServiceSpec, StartupTask};

/// The health statuses of a service: the overall one (`""`) and one per gRPC service.
#[derive(Clone)]
pub(crate) struct Health {
    reporter: HealthReporter,
    names: Vec<&'static str>,
}

impl Health {
    /// NOT_SERVING for every name of `spec`, and the health service that reports them.
    pub(crate) async fn new(
        spec: &ServiceSpec,
    ) -> (
        Self,
        tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    ) {
        let (reporter, service) = tonic_health::server::health_reporter();
        let health = Self {
            reporter,
            names: std::iter::once("")
                .chain(spec.grpc_services.iter().copied())
                .collect(),
        };
        health.set(ServingStatus::NotServing).await;
        (health, service)
    }

    /// Sets every status.
    pub(crate) async fn set(&self, status: ServingStatus) {
        for name in &self.names {
            self.reporter.set_service_status(*name, status).await;
        }
    }
}

/// Waits until the database is migrated and the broker has the service's topology; false when
/// shutdown came first.
pub(crate) async fn infrastructure(
    spec: &ServiceSpec,
    config: &ServiceConfig,
    amqp: &AmqpSettings,
    shutdown: &CancellationToken,
) -> bool {
    let mut database_ready = !spec.uses_database;
    let mut broker_ready = !spec.uses_broker;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        if !database_ready {
            match ates_messaging::migrate(config.database_url.expose_secret(), spec.migrations)
                .await
            {
                Ok(()) => {
                    tracing::info!("database migrated");
                    database_ready = true;
                }
                Err(error) => tracing::warn!(error = %error, "database not ready"),
            }
        }
        if !broker_ready {
            match declare_topology(spec.service, amqp).await {
                Ok(()) => {
                    tracing::info!("broker reachable; topology declared");
                    broker_ready = true;
                }
                Err(error) => tracing::warn!(error = %error, "broker not ready"),
            }
        }
        if database_ready && broker_ready {
            return true;
        }
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

/// Runs the service's start-up task until it succeeds; false when shutdown came first.
pub(crate) async fn startup_task(task: &StartupTask, shutdown: &CancellationToken) -> bool {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        match task().await {
            Ok(()) => return true,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "start-up task failed; retrying")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

async fn declare_topology(service: Service, amqp: &AmqpSettings) -> Result<(), lapin::Error> {
    let connection = amqp
        .connect(&format!("{} start-up", service.binary_name()))
        .await?;
    let channel = connection.create_channel().await?;
    let declared = amqp.topology.declare_for(&channel, service).await;
    let _ = connection.close(200, "topology declared".into()).await;
    declared
}
