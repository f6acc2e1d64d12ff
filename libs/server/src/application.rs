//! Building and running one service process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ates_contracts::routing::{self, Service, Subscription};
use ates_messaging::{
    AmqpSettings, Backoff, Consumer, ConsumerConfig, DbPool, Handler, Outbox, Relay, RelayConfig,
    Topology,
};
use ates_token::{AuthKeySource, AuthLayer, Verifier, VerifierConfig};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_migrations::EmbeddedMigrations;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::ServiceConfig;

/// What is fixed about a service, as opposed to its configuration.
#[derive(Clone)]
pub struct ServiceSpec {
    /// Which service this is.
    pub service: Service,
    /// Fully qualified names of the gRPC services it serves (`ates.tracker.v1.TrackerService`):
    /// each gets a health status and is listed by reflection.
    pub grpc_services: &'static [&'static str],
    /// Full method paths that need no token (`/ates.auth.v1.AuthService/SignIn`).
    pub public_methods: &'static [&'static str],
    /// The service's own migrations, run after the outbox and inbox ones.
    pub migrations: Option<&'static EmbeddedMigrations>,
    /// Whether it has a database (readiness waits until it is migrated).
    pub uses_database: bool,
    /// Whether it uses the broker (readiness waits until its topology is declared).
    pub uses_broker: bool,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ServiceSpec")
            .field("service", &self.service)
            .field("grpc_services", &self.grpc_services)
            .finish_non_exhaustive()
    }
}

/// What a service plugs into the shared process: its gRPC services and event handlers.
#[derive(Default)]
pub struct Wiring {
    /// The service's gRPC services; health and reflection are added by [`Application`].
    pub routes: RoutesBuilder,
    /// One handler per queue the service consumes.
    pub consumers: Vec<(Subscription, Arc<dyn Handler>)>,
    /// How the consumers pace themselves; `None` for the defaults.
    pub consumer_config: Option<ConsumerConfig>,
    /// Verifies access tokens; `None` means auth's keys fetched over gRPC from `AUTH_URL`.
    pub verifier: Option<Arc<Verifier>>,
    /// Runs once the database is migrated and the broker reachable, before the service reports
    /// SERVING; retried with back-off until it succeeds.
    pub on_ready: Option<StartupTask>,
    /// Clean-up run every `HOUSEKEEPING_INTERVAL_SECONDS` while the service runs, beside the
    /// pruning of expired inbox ids that every consuming service gets.
    pub housekeeping: Vec<Housekeeping>,
}

/// A periodic clean-up job: its name (for logs) and what it does; answers how many rows went.
#[derive(Clone)]
pub struct Housekeeping {
    /// What is cleaned, e.g. `"inbox ids"`.
    pub name: &'static str,
    /// One round of the job.
    pub run:
        Arc<dyn Fn() -> futures::future::BoxFuture<'static, anyhow::Result<u64>> + Send + Sync>,
}

impl Housekeeping {
    /// Deletes the rows of `table` whose `column` (a time) is older than `retention`, in
    /// batches ([`ates_messaging::prune_before`]).
    pub fn pruning(
        name: &'static str,
        pool: DbPool,
        table: &'static str,
        column: &'static str,
        retention: Duration,
    ) -> Self {
        Self {
            name,
            run: Arc::new(move || {
                let pool = pool.clone();
                Box::pin(async move {
                    let cutoff = ates_messaging::cutoff(retention)?;
                    Ok(ates_messaging::prune_before(&pool, table, column, cutoff).await?)
                })
            }),
        }
    }
}

impl std::fmt::Debug for Housekeeping {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Housekeeping")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Runs every job now and then every `interval`, until `shutdown`. A failed round is logged and
/// tried again next time; housekeeping never stops the service.
async fn run_housekeeping(
    jobs: Vec<Housekeeping>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        for job in &jobs {
            let round = tokio::select! {
                () = shutdown.cancelled() => return,
                round = (job.run)() => round,
            };
            match round {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(job = job.name, rows = pruned, "housekeeping pruned"),
                Err(error) => {
                    tracing::warn!(job = job.name, error = %error, "housekeeping failed; next round later");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Work a service does at start-up once its infrastructure is there.
pub type StartupTask =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

impl std::fmt::Debug for Wiring {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Wiring")
            .field("consumers", &self.consumers.len())
            .finish_non_exhaustive()
    }
}

/// A service process, bound to its port and ready to run.
pub struct Application {
    spec: ServiceSpec,
    config: ServiceConfig,
    listener: TcpListener,
    pool: DbPool,
    outbox: Outbox,
    shutdown: CancellationToken,
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
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(
            config.database_url.expose_secret(),
        );
        let pool = Pool::builder(manager)
            .max_size(config.database_pool_size)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool::Runtime::Tokio1)
            .build()?;
        let outbox = Outbox::new(spec.service);
        Ok(Self {
            spec,
            config,
            listener,
            pool,
            outbox,
            shutdown: CancellationToken::new(),
        })
    }

    /// The address the gRPC server listens on.
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
    /// database is migrated and the broker reachable, SERVING after, and NOT_SERVING again from
    /// the moment shutdown begins; in-flight calls then get `SHUTDOWN_GRACE_SECONDS` to finish.
    pub async fn run_until_stopped(self, wiring: Wiring) -> anyhow::Result<()> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let status_names: Vec<&str> = std::iter::once("")
            .chain(self.spec.grpc_services.iter().copied())
            .collect();
        set_status(&reporter, &status_names, ServingStatus::NotServing).await;

        let mut reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(ates_contracts::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        let mut reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(ates_contracts::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        for name in self.spec.grpc_services {
            reflection_v1 = reflection_v1.with_service_name(*name);
            reflection_v1alpha = reflection_v1alpha.with_service_name(*name);
        }

        let Wiring {
            mut routes,
            consumers,
            consumer_config,
            verifier,
            on_ready,
            mut housekeeping,
        } = wiring;
        let consumer_config = consumer_config.unwrap_or_default();
        routes
            .add_service(health_service)
            .add_service(reflection_v1.build_v1()?)
            .add_service(reflection_v1alpha.build_v1alpha()?);
        let verifier = match verifier {
            Some(verifier) => verifier,
            None => Arc::new(Verifier::new(
                Arc::new(AuthKeySource::new(&self.config.auth_url).map_err(anyhow::Error::msg)?),
                VerifierConfig {
                    issuer: self.config.token_issuer.clone(),
                    audience: self.config.token_audience.clone(),
                    leeway: self.config.token_leeway,
                    ..VerifierConfig::default()
                },
            )),
        };
        let auth_layer = AuthLayer::new(verifier).with_public_methods(self.spec.public_methods);

        let local_address = self.local_address();
        let Self {
            spec,
            config,
            listener,
            pool,
            outbox,
            shutdown,
        } = self;
        tracing::info!(service = spec.service.binary_name(), address = %local_address, "grpc server listening");

        // Readiness, then the background workers.
        let mut workers = JoinSet::new();
        {
            let spec = spec.clone();
            let config = config.clone();
            let reporter = reporter.clone();
            let shutdown = shutdown.clone();
            let status_names: Vec<String> =
                status_names.iter().map(|name| (*name).to_owned()).collect();
            let amqp = AmqpSettings {
                url: config.amqp_url.expose_secret().to_owned(),
                topology: Topology::new(config.amqp_name_prefix.clone()),
            };
            let pool = pool.clone();
            let outbox = outbox.clone();
            let mut inner_workers = JoinSet::new();
            workers.spawn(async move {
                if !become_ready(&spec, &config, &amqp, &shutdown).await {
                    return;
                }
                if let Some(task) = on_ready
                    && !run_startup_task(&task, &shutdown).await
                {
                    return;
                }
                if spec.uses_broker && !routing::exchanges_produced_by(spec.service).is_empty() {
                    let relay =
                        Relay::new(&outbox, pool.clone(), amqp.clone(), RelayConfig::default());
                    inner_workers.spawn(relay.run(shutdown.clone()));
                }
                if spec.uses_database && !consumers.is_empty() {
                    // A redelivery after this is still harmless: every handler is also
                    // idempotent by business key or revision; the inbox is the fast path.
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
                    inner_workers.spawn(run_housekeeping(
                        std::mem::take(&mut housekeeping),
                        config.housekeeping_interval,
                        shutdown.clone(),
                    ));
                }
                for (subscription, handler) in consumers {
                    let consumer = Consumer::new(
                        subscription,
                        pool.clone(),
                        amqp.clone(),
                        handler,
                        consumer_config.clone(),
                    )
                    .with_outbox(outbox.clone());
                    inner_workers.spawn(consumer.run(shutdown.clone()));
                }
                let names: Vec<&str> = status_names.iter().map(String::as_str).collect();
                if !shutdown.is_cancelled() {
                    set_status(&reporter, &names, ServingStatus::Serving).await;
                    tracing::info!(service = spec.service.binary_name(), "serving");
                }
                while inner_workers.join_next().await.is_some() {}
            });
        }

        let stopping = {
            let shutdown = shutdown.clone();
            let reporter = reporter.clone();
            let status_names: Vec<String> =
                status_names.iter().map(|name| (*name).to_owned()).collect();
            async move {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = termination_signal() => {}
                }
                tracing::info!("shutting down");
                let names: Vec<&str> = status_names.iter().map(String::as_str).collect();
                set_status(&reporter, &names, ServingStatus::NotServing).await;
                shutdown.cancel();
            }
        };

        let service_name = spec.service.binary_name();
        let server = tonic::transport::Server::builder()
            .trace_fn(move |request| {
                let span = tracing::info_span!(
                    "grpc request",
                    service = service_name,
                    rpc.method = %request.uri().path(),
                    otel.kind = "server",
                );
                ates_telemetry::set_parent_from_headers(&span, request.headers());
                span
            })
            .layer(auth_layer)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                stopping,
            );
        let mut server = tokio::spawn(server);
        let served = tokio::select! {
            result = &mut server => Some(result),
            () = shutdown.cancelled() => None,
        };
        let served = match served {
            Some(result) => result,
            None => match tokio::time::timeout(config.shutdown_grace, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        grace_seconds = config.shutdown_grace.as_secs(),
                        "in-flight calls did not finish in time"
                    );
                    server.abort();
                    Ok(Ok(()))
                }
            },
        };
        shutdown.cancel();
        let _ = tokio::time::timeout(config.shutdown_grace, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        served??;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn set_status(reporter: &HealthReporter, names: &[&str], status: ServingStatus) {
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
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

/// Waits until the database is migrated and the broker has the service's topology; false when
/// shutdown came first.
async fn become_ready(
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
async fn run_startup_task(task: &StartupTask, shutdown: &CancellationToken) -> bool {
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

async fn termination_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
