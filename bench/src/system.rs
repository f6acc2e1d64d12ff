//! The six release binaries as processes, as in production: each with a fresh database of its
//! own, all on one broker under a name prefix of their own, started one at a time so each start
//! is timed alone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ates_testkit::{ChildProcess, HealthStatus, SmtpSink, TestBroker, TestDatabase};

pub const ADMIN_EMAIL: &str = "admin@bench.ates";
pub const ADMIN_BEAK: &str = "bench-admin-beak-0123456789abcdef0123";

/// One running service.
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub endpoint: String,
    pub pid: u32,
    /// From spawning the process to its first SERVING answer.
    pub started_in: Duration,
    pub database: Option<TestDatabase>,
    // Dropped (killed) before the database it uses.
    _child: ChildProcess,
}

/// The whole system; dropping it kills every process and drops their databases.
#[derive(Debug)]
pub struct System {
    pub services: Vec<Service>,
    pub broker: TestBroker,
    pub admin_url: String,
    _smtp: SmtpSink,
}

impl System {
    /// Starts auth, tracker, accounting, payouts, analytics and bff from `binaries`, their logs
    /// in `logs/<name>.log`.
    pub async fn start(
        binaries: &Path,
        logs: &Path,
        admin_url: &str,
        amqp_url: &str,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
        let mut broker = TestBroker::at(amqp_url);
        let topology = ates_messaging::Topology::new(broker.prefix());
        broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
        let smtp = SmtpSink::start().await?;
        let mut system = Self {
            services: Vec::new(),
            broker,
            admin_url: admin_url.to_owned(),
            _smtp: smtp,
        };
        let smtp_url = system._smtp.url();
        let auth_admin = [
            ("AUTH_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
            ("AUTH_BOOTSTRAP_ADMIN_BEAK", ADMIN_BEAK),
        ];
        system
            .spawn(binaries, logs, "auth-svc", true, &auth_admin)
            .await?;
        system
            .spawn(binaries, logs, "tracker-svc", true, &[])
            .await?;
        system
            .spawn(binaries, logs, "accounting-svc", true, &[])
            .await?;
        system
            .spawn(
                binaries,
                logs,
                "payouts-svc",
                true,
                &[("SMTP_URL", &smtp_url)],
            )
            .await?;
        system
            .spawn(binaries, logs, "analytics-svc", true, &[])
            .await?;
        let accounting = system.endpoint("accounting-svc").to_owned();
        system
            .spawn(
                binaries,
                logs,
                "bff-svc",
                false,
                &[("ACCOUNTING_URL", &accounting)],
            )
            .await?;
        Ok(system)
    }

    async fn spawn(
        &mut self,
        binaries: &Path,
        logs: &Path,
        name: &'static str,
        with_database: bool,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let database = if with_database {
            Some(TestDatabase::create_at(&self.admin_url).await?)
        } else {
            None
        };
        let port = ates_testkit::free_port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let auth_url = self
            .services
            .first()
            .map_or("http://127.0.0.1:1".to_owned(), |auth| {
                auth.endpoint.clone()
            });
        let log_path = logs.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut command = tokio::process::Command::new(binary(binaries, name)?);
        command
            .env("GRPC_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "DATABASE_URL",
                database
                    .as_ref()
                    .map_or("postgres://unused.invalid/none", |database| database.url()),
            )
            .env("AMQP_URL", self.broker.url())
            .env("AMQP_NAME_PREFIX", self.broker.prefix())
            .env("AUTH_URL", auth_url)
            .env("RUST_LOG", "warn")
            .env("LOG_FORMAT", "text")
            .envs(extra.iter().copied())
            .stdout(log.try_clone()?)
            .stderr(log);
        let started = Instant::now();
        let mut child = ChildProcess::spawn(name, command)?;
        let pid = child.id().context("the child has no pid")?;
        loop {
            if ates_testkit::health_status(&endpoint, "").await == HealthStatus::Serving {
                break;
            }
            if let Some(status) = child.try_exit_status() {
                bail!(
                    "{name} exited while starting ({status}); see {}",
                    log_path.display()
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "{name} is not SERVING after 60 s; see {}",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.services.push(Service {
            name,
            endpoint,
            pid,
            started_in: started.elapsed(),
            database,
            _child: child,
        });
        Ok(())
    }

    pub fn service(&self, name: &str) -> &Service {
        self.services
            .iter()
            .find(|service| service.name == name)
            .unwrap_or_else(|| panic!("{name} is one of the six services"))
    }

    pub fn endpoint(&self, name: &str) -> &str {
        &self.service(name).endpoint
    }

    /// The names of the services' databases.
    pub fn database_names(&self) -> Vec<String> {
        self.services
            .iter()
            .filter_map(|service| service.database.as_ref())
            .map(|database| database.name().to_owned())
            .collect()
    }

    /// A connection to `name`'s own database.
    pub async fn database(&self, name: &str) -> anyhow::Result<tokio_postgres::Client> {
        let database = self
            .service(name)
            .database
            .as_ref()
            .with_context(|| format!("{name} has no database"))?;
        connect(database.url()).await
    }
}

/// A connection to `url`, its driver running on the runtime.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// The binary `name` in `binaries` (the release build's directory).
fn binary(binaries: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = binaries.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build the release binaries first (cargo build --release --bins)",
        path.display()
    );
    Ok(path)
}
