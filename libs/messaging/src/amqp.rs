//! Connecting to RabbitMQ, and the backoff every reconnect loop shares.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

use crate::Topology;

/// Where the broker is and how names are prefixed there.
#[derive(Debug, Clone)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:port/vhost`.
    pub url: String,
    /// Names of exchanges and queues.
    pub topology: Topology,
}

impl AmqpSettings {
    /// Opens a connection named after the service and its role in it (shown by the broker).
    pub async fn connect(&self, connection_name: &str) -> Result<Connection, lapin::Error> {
        let properties =
            ConnectionProperties::default().with_connection_name(connection_name.to_owned().into());
        Connection::connect(&self.url, properties).await
    }
}

/// Exponential backoff with a ceiling, for reconnect and retry loops.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `initial`, doubles on every [`Backoff::next_delay`], never exceeds `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// The delay to wait now; the following one is twice as long.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.current;
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// Back to the initial delay, after a success.
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}
