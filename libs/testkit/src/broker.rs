//! RabbitMQ for tests: a unique name prefix on the shared broker, or a private broker the test
//! can stop and start.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

use crate::process::ChildProcess;

/// The shared broker, with a name prefix no other test uses. Queues and exchanges registered
/// with [`TestBroker::delete_on_drop`] are deleted when the value is dropped.
#[derive(Debug)]
pub struct TestBroker {
    url: String,
    prefix: String,
    queues: Vec<String>,
    exchanges: Vec<String>,
}

impl TestBroker {
    /// The shared broker at `ATES_TEST_AMQP_URL` with a fresh prefix such as `test-1f3a….`.
    pub fn shared() -> Self {
        let url = std::env::var("ATES_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
        Self {
            url,
            prefix: format!("test-{}.", crate::unique_suffix()),
            queues: Vec::new(),
            exchanges: Vec::new(),
        }
    }

    /// A broker at `url` (a [`PrivateBroker`], say) with a fresh prefix.
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: format!("test-{}.", crate::unique_suffix()),
            queues: Vec::new(),
            exchanges: Vec::new(),
        }
    }

    /// The broker's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The prefix to put in front of every exchange and queue name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Deletes these queues and exchanges when the test ends.
    pub fn delete_on_drop(&mut self, queues: Vec<String>, exchanges: Vec<String>) {
        self.queues.extend(queues);
        self.exchanges.extend(exchanges);
    }

    /// A new connection to the broker.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .with_context(|| {
                format!(
                    "cannot reach RabbitMQ at {} (set ATES_TEST_AMQP_URL)",
                    self.url
                )
            })
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if self.queues.is_empty() && self.exchanges.is_empty() {
            return;
        }
        let url = self.url.clone();
        let queues = std::mem::take(&mut self.queues);
        let exchanges = std::mem::take(&mut self.exchanges);
        crate::run_to_completion_elsewhere(async move {
            let Ok(connection) = Connection::connect(&url, ConnectionProperties::default()).await
            else {
                return;
            };
            let Ok(channel) = connection.create_channel().await else {
                return;
            };
            for queue in queues {
                let _ = channel
                    .queue_delete(queue.into(), QueueDeleteOptions::default())
                    .await;
            }
            for exchange in exchanges {
                let _ = channel
                    .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                    .await;
            }
            let _ = connection.close(200, "test done".into()).await;
        });
    }
}

/// A RabbitMQ node of the test's own, on unusual ports, with its data in a temporary folder. It
/// can be stopped and started again with its data (durable queues and messages survive).
#[derive(Debug)]
pub struct PrivateBroker {
    // Fields drop in order: the node and its epmd go before their folder is deleted.
    node: Option<ChildProcess>,
    _epmd: ChildProcess,
    node_name: String,
    amqp_port: u16,
    distribution_port: u16,
    epmd_port: u16,
    directory: tempfile::TempDir,
}

impl PrivateBroker {
    /// Starts a node and waits until it accepts AMQP connections.
    pub async fn start() -> anyhow::Result<Self> {
        let directory = tempfile::Builder::new().prefix("ates-broker-").tempdir()?;
        std::fs::write(directory.path().join("enabled_plugins"), "[].\n")?;
        let epmd_port = crate::free_port();
        let mut epmd_command = tokio::process::Command::new("epmd");
        epmd_command
            .arg("-port")
            .arg(epmd_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let epmd = ChildProcess::spawn("epmd", epmd_command)
            .context("cannot start epmd (is RabbitMQ installed?)")?;
        let mut broker = Self {
            node_name: format!("ates-test-{}@localhost", crate::unique_suffix()),
            amqp_port: crate::free_port(),
            distribution_port: crate::free_port(),
            epmd_port,
            _epmd: epmd,
            node: None,
            directory,
        };
        broker.start_node().await?;
        Ok(broker)
    }

    /// The node's AMQP URL.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    /// Stops the node (as a crash would: SIGKILL), keeping its data.
    pub async fn stop(&mut self) {
        if let Some(mut node) = self.node.take() {
            node.kill().await;
        }
    }

    /// Starts the node again after [`PrivateBroker::stop`].
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.node.is_none() {
            self.start_node().await?;
        }
        Ok(())
    }

    async fn start_node(&mut self) -> anyhow::Result<()> {
        let base = self.directory.path();
        let server = rabbitmq_server_binary();
        let mut command = tokio::process::Command::new(&server);
        command
            .env("HOME", base)
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("RABBITMQ_NODENAME", &self.node_name)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", self.distribution_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", base.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", base.join("log"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                base.join("enabled_plugins"),
            )
            .env("RABBITMQ_CONFIG_FILE", base.join("rabbitmq"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                base.join("advanced.config"),
            )
            .env("RABBITMQ_CONF_ENV_FILE", base.join("rabbitmq-env.conf"))
            .stdout(Stdio::from(std::fs::File::create(base.join("node.out"))?))
            .stderr(Stdio::from(std::fs::File::create(base.join("node.err"))?));
        let node = ChildProcess::spawn("rabbitmq-server", command)
            .with_context(|| format!("cannot start {}", server.display()))?;
        self.node = Some(node);
        let url = self.url();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(connection) = Connection::connect(&url, ConnectionProperties::default()).await
            {
                let _ = connection.close(200, "ready".into()).await;
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(base.join("node.out")).unwrap_or_default();
                anyhow::bail!("private RabbitMQ did not start within 60 s:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn rabbitmq_server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("RABBITMQ_SERVER_BIN") {
        return PathBuf::from(path);
    }
    // Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user when run as root; the
    // script behind it runs the node as whoever calls it.
    let debian = PathBuf::from("/usr/lib/rabbitmq/bin/rabbitmq-server");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("rabbitmq-server")
    }
}
