//! Building and running one service process: the edge in front, the background behind it.

use std::net::SocketAddr;
use std::sync::Arc;

use ates_contracts::routing::{self, Subscription};
use ates_messaging::{
    AmqpSettings, Consumer, ConsumerConfig, DbPool, Outbox, QueueHandler, Relay, RelayConfig,
    Topology,
};
use ates_token::{AuthKeySource, AuthLayer, Verifier, VerifierConfig};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::readiness::{self, Health};
use crate::server::{self, Edge};
use crate::workers::{Housekeeping, Worker};
use crate::{ServiceConfig, ServiceSpec, Wiring, shutdown};

/// Work a service does at start-up once its infrastructure is there.
pub type StartupTask =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// A service process, bound to its port and ready to run.
pub struct Application {
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    pool: DbPool,
    outbox: Outbox,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Application")
            .field("service", &self.spec.service)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds the listener (so the port is known at once; port 0 picks a free one) and prepares a
    /// lazy database pool. Nothing is connected yet: an unreachable database or broker delays
    /// readiness, it does not stop the process.
    pub async fn build(spec: ServiceSpec, config: ServiceConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen_address)
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot listen on {} (GRPC_LISTEN_ADDR): {error}",
                    config.listen_address
                )
            })?;
        let pool = ates_storage::pool(
            config.database_url.expose_secret(),
            config.database_pool_size,
        )?;
        let metrics_listener = match config.metrics_listen_address {
            Some(address) => Some(TcpListener::bind(address).await.map_err(|error| {
                anyhow::anyhow!("cannot listen on {address} (METRICS_LISTEN_ADDR): {error}")
            })?),
            None => None,
        };
        if spec.uses_database {
            crate::metrics::observe_pool(&pool);
        }
        let outbox = Outbox::new(spec.service);
        Ok(Self {
            spec,
            config,
            listener,
            metrics_listener,
            pool,
            outbox,
            shutdown: CancellationToken::new(),
        })
    }

    /// The address the server listens on.
    pub fn local_address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The service's database pool.
    pub fn pool(&self) -> DbPool {
        self.pool.clone()
    }

    /// The service's outbox.
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// The configuration the application was built with.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Cancelling it stops the application as SIGTERM would.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Where the broker is, with this deployment's name prefix.
    pub fn amqp(&self) -> AmqpSettings {
        AmqpSettings {
            url: self.config.amqp_url.expose_secret().to_owned(),
            topology: Topology::new(self.config.amqp_name_prefix.clone()),
        }
    }

    /// Serves until SIGTERM, Ctrl-C or the shutdown token. Health is NOT_SERVING until the
    /// database is migrated, the broker reachable and the start-up task done, SERVING after, and
    /// NOT_SERVING again from the moment shutdown begins; in-flight calls then get
    /// `SHUTDOWN_GRACE_SECONDS` to finish. Refuses to start when the service's event handlers
    /// and the routing table disagree.
    pub async fn run_until_stopped(self, wiring: Wiring) -> anyhow::Result<()> {
        let amqp = self.amqp();
        let Self {
            spec,
            config,
            listener,
            metrics_listener,
            pool,
            outbox,
            shutdown,
        } = self;
        let Wiring {
            routes,
            http_routes,
            handlers,
            consumer_config,
            verifier,
            on_ready,
            mut housekeeping,
            mut workers,
        } = wiring;
        // Every queue the routing table gives the service must be read, and nothing else.
        let consumers = ates_messaging::bind_handlers(spec.service, &handlers)?;
        if spec.uses_database && !consumers.is_empty() {
            // A redelivery after this is still harmless: every handler is also idempotent by
            // business key or revision; the inbox is the fast path.
            housekeeping.insert(
                0,
                Housekeeping::pruning(
                    "inbox ids",
                    pool.clone(),
                    ates_messaging::INBOX_TABLE,
                    ates_messaging::INBOX_TIME_COLUMN,
                    config.inbox_retention,
                ),
            );
        }
        if !housekeeping.is_empty() {
            workers.push(Housekeeping::worker(
                housekeeping,
                config.housekeeping_interval,
            ));
        }

        let (health, health_service) = Health::new(&spec).await;
        let verifier = match verifier {
            Some(verifier) => verifier,
            None => remote_verifier(&config)?,
        };
        let edge = Edge::new(
            &spec,
            &config,
            server::grpc_routes(&spec, routes, health_service)?,
            AuthLayer::new(verifier).with_public_methods(spec.public_methods),
            http_routes,
        )?;
        let service_name = spec.service.binary_name();
        tracing::info!(service = service_name, address = %listener.local_addr()?, grpc_web = spec.grpc_web, "listening");
        if let Some(metrics_listener) = metrics_listener {
            tracing::info!(address = %metrics_listener.local_addr()?, "serving GET /metrics");
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let served = axum::serve(metrics_listener, crate::metrics::routes())
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(error) = served {
                    tracing::warn!(error = %error, "the metrics listener stopped");
                }
            });
        }

        let background = tokio::spawn(
            Background {
                relay: (spec.uses_broker
                    && !routing::exchanges_produced_by(spec.service).is_empty())
                .then(|| Relay::new(&outbox, pool.clone(), amqp.clone(), RelayConfig::default())),
                consumers: consumers
                    .into_iter()
                    .map(|(subscription, handler)| {
                        consumer(
                            subscription,
                            handler,
                            &pool,
                            &amqp,
                            &outbox,
                            ConsumerConfig {
                                parked_event_types: config.parked_event_types.clone(),
                                ..consumer_config.clone().unwrap_or_default()
                            },
                        )
                    })
                    .collect(),
                workers,
                on_ready,
                health: health.clone(),
            }
            .run(spec.clone(), config.clone(), amqp, shutdown.clone()),
        );
        let served = edge
            .serve(
                service_name,
                listener,
                shutdown::requested(shutdown.clone(), health),
                &shutdown,
                config.shutdown_grace,
            )
            .await;
        shutdown.cancel();
        let _ = tokio::time::timeout(config.shutdown_grace, background).await;
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Verifies tokens with auth's public keys, fetched over gRPC from `AUTH_URL`.
fn remote_verifier(config: &ServiceConfig) -> anyhow::Result<Arc<Verifier>> {
    Ok(Arc::new(Verifier::new(
        Arc::new(AuthKeySource::new(&config.auth_url).map_err(anyhow::Error::msg)?),
        VerifierConfig {
            issuer: config.token_issuer.clone(),
            audience: config.token_audience.clone(),
            leeway: config.token_leeway,
            ..VerifierConfig::default()
        },
    )))
}

fn consumer(
    subscription: Subscription,
    handler: Arc<dyn QueueHandler>,
    pool: &DbPool,
    amqp: &AmqpSettings,
    outbox: &Outbox,
    config: ConsumerConfig,
) -> Consumer {
    Consumer::new(
        subscription,
        pool.clone(),
        amqp.clone(),
        outbox.clone(),
        handler,
        config,
    )
}

/// What runs behind the edge once the service is ready.
struct Background {
    relay: Option<Relay>,
    consumers: Vec<Consumer>,
    workers: Vec<Worker>,
    on_ready: Option<StartupTask>,
    health: Health,
}

impl Background {
    /// Waits for the infrastructure and the start-up task, starts the relay, the consumers and
    /// the workers, reports SERVING, and runs until shutdown.
    async fn run(
        self,
        spec: ServiceSpec,
        config: ServiceConfig,
        amqp: AmqpSettings,
        shutdown: CancellationToken,
    ) {
        if !readiness::infrastructure(&spec, &config, &amqp, &shutdown).await {
            return;
        }
        if let Some(task) = &self.on_ready
            && !readiness::startup_task(task, &shutdown).await
        {
            return;
        }
        let mut running = JoinSet::new();
        if let Some(relay) = self.relay {
            running.spawn(relay.run(shutdown.clone()));
        }
        for consumer in self.consumers {
            running.spawn(consumer.run(shutdown.clone()));
        }
        for worker in self.workers {
            running.spawn(worker.supervise(shutdown.clone()));
        }
        if !shutdown.is_cancelled() {
            self.health.set(ServingStatus::Serving).await;
            tracing::info!(service = spec.service.binary_name(), "serving");
        }
        while running.join_next().await.is_some() {}
    }
}
