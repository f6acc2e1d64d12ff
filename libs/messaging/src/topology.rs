//! Names and declarations of exchanges and queues.

use ates_contracts::routing::{self, Service, Subscription};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

/// How many times the broker delivers a message before it dead-letters it on its own. Consumers
/// park a failing message themselves, with its reason, well before this (see
/// `ConsumerConfig::max_attempts`); this limit catches consumers that crash on a message.
pub const DELIVERY_LIMIT: i64 = 20;

const DEAD_LETTER_EXCHANGE: &str = "ates.dead-letter";

/// The names of aTES's exchanges and queues in one deployment.
///
/// Every name gets the same prefix (empty in production), so that tests and parallel
/// environments on one broker never see each other's messages.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    prefix: String,
}

impl Topology {
    /// Names with `prefix` in front (e.g. `"test-1f3a."`); `""` for the real names.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix in front of every name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The deployed name of an exchange.
    pub fn exchange(&self, exchange: &str) -> String {
        format!("{}{exchange}", self.prefix)
    }

    /// The deployed name of a subscription's queue.
    pub fn queue(&self, subscription: &Subscription) -> String {
        format!("{}{}", self.prefix, subscription.queue())
    }

    /// The exchange that dead-lettered messages go to, routed by their queue's name.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}{DEAD_LETTER_EXCHANGE}", self.prefix)
    }

    /// The dead-letter queue of a queue.
    pub fn dead_letter_queue(&self, queue: &str) -> String {
        format!("{queue}.dead-letter")
    }

    /// Declares what `service` needs: the exchanges it publishes to with the queues bound to them
    /// (so nothing it publishes is unroutable while a consumer has not started), and its own
    /// queues. Idempotent; every declaration carries the same arguments wherever it is made.
    pub async fn declare_for(
        &self,
        channel: &Channel,
        service: Service,
    ) -> Result<(), lapin::Error> {
        let mut subscriptions = routing::subscriptions_fed_by(service);
        for subscription in routing::subscriptions_of(service) {
            if !subscriptions.contains(&subscription) {
                subscriptions.push(subscription);
            }
        }
        let mut exchanges = routing::exchanges_produced_by(service);
        exchanges.extend(
            subscriptions
                .iter()
                .map(|subscription| subscription.exchange),
        );
        self.declare(channel, &exchanges, &subscriptions).await
    }

    /// Declares every exchange and queue of aTES.
    pub async fn declare_all(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let exchanges: Vec<&str> = routing::ROUTES.iter().map(|route| route.exchange).collect();
        self.declare(channel, &exchanges, &routing::subscriptions())
            .await
    }

    /// Every queue name of aTES under this prefix, dead-letter queues included.
    pub fn all_queue_names(&self) -> Vec<String> {
        routing::subscriptions()
            .iter()
            .flat_map(|subscription| {
                let queue = self.queue(subscription);
                [self.dead_letter_queue(&queue), queue]
            })
            .collect()
    }

    /// Every exchange name of aTES under this prefix, the dead-letter exchange included.
    pub fn all_exchange_names(&self) -> Vec<String> {
        let mut names: Vec<String> = routing::ROUTES
            .iter()
            .map(|route| self.exchange(route.exchange))
            .collect();
        names.sort();
        names.dedup();
        names.push(self.dead_letter_exchange());
        names
    }

    async fn declare(
        &self,
        channel: &Channel,
        exchanges: &[&str],
        subscriptions: &[Subscription],
    ) -> Result<(), lapin::Error> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        let dead_letter_exchange = self.dead_letter_exchange();
        channel
            .exchange_declare(
                dead_letter_exchange.clone().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
        let mut declared = Vec::new();
        for exchange in exchanges {
            if declared.contains(exchange) {
                continue;
            }
            declared.push(*exchange);
            channel
                .exchange_declare(
                    self.exchange(exchange).into(),
                    ExchangeKind::Topic,
                    durable,
                    FieldTable::default(),
                )
                .await?;
        }
        for subscription in subscriptions {
            let queue = self.queue(subscription);
            let dead_letter_queue = self.dead_letter_queue(&queue);
            declare_quorum_queue(channel, &dead_letter_queue, FieldTable::default()).await?;
            channel
                .queue_bind(
                    dead_letter_queue.into(),
                    dead_letter_exchange.clone().into(),
                    queue.clone().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;

            let mut arguments = FieldTable::default();
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(DELIVERY_LIMIT),
            );
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(LongString::from(dead_letter_exchange.clone())),
            );
            arguments.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(LongString::from(queue.clone())),
            );
            declare_quorum_queue(channel, &queue, arguments).await?;
            for event_type in &subscription.event_types {
                channel
                    .queue_bind(
                        queue.clone().into(),
                        self.exchange(subscription.exchange).into(),
                        ShortString::from(*event_type),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

async fn declare_quorum_queue(
    channel: &Channel,
    name: &str,
    mut arguments: FieldTable,
) -> Result<(), lapin::Error> {
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    channel
        .queue_declare(
            name.to_owned().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    Ok(())
}
