//! A broker channel in confirm mode for tests that play a producer: every publish waits for the
//! broker's confirm and fails the test when the broker returns or refuses the message.

#![allow(clippy::unwrap_used, clippy::panic)]

use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::routing;
use chrono::{DateTime, Utc};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use prost::Message as _;
use uuid::Uuid;

use crate::TestBroker;

/// A confirm-mode channel on the test's broker, with its name prefix.
#[derive(Debug)]
pub struct ConfirmedChannel {
    _connection: Connection,
    channel: Channel,
    prefix: String,
}

impl ConfirmedChannel {
    /// Opens one on `broker`.
    pub async fn open(broker: &TestBroker) -> anyhow::Result<Self> {
        let connection = broker.connect().await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self {
            _connection: connection,
            channel,
            prefix: broker.prefix().to_owned(),
        })
    }

    /// The channel itself.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes `body` to `exchange` (a name without the test's prefix; `""` is the default
    /// exchange, which routes by queue name) and waits until the broker confirmed it.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) {
        let exchange = if exchange.is_empty() {
            String::new()
        } else {
            format!("{}{exchange}", self.prefix)
        };
        let confirmation = self
            .channel
            .basic_publish(
                exchange.into(),
                routing_key.to_owned().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(
            matches!(confirmation, Confirmation::Ack(None)),
            "the broker did not take the message: {confirmation:?}"
        );
    }

    /// Publishes `body` as a persistent message (a byte-for-byte copy of an earlier one, say).
    pub async fn publish_bytes(&self, exchange: &str, routing_key: &str, body: &[u8]) {
        self.publish(
            exchange,
            routing_key,
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await;
    }

    /// Publishes `event` as its producer would (in an envelope, to its exchange, with its type as
    /// routing key) and returns the exact bytes sent.
    pub async fn publish_event<E: prost::Message + prost::Name>(
        &self,
        event: &E,
        occurred_at: DateTime<Utc>,
    ) -> Vec<u8> {
        let event_type = E::full_name();
        let route =
            routing::route_of(&event_type).unwrap_or_else(|| panic!("{event_type} has no route"));
        let body = envelope(
            &event_type,
            route.producer.binary_name(),
            event,
            occurred_at,
        );
        self.publish(
            route.exchange,
            &event_type,
            &body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await;
        body
    }
}

/// The bytes of an envelope carrying `event` under a fresh event id.
pub fn envelope<E: prost::Message>(
    event_type: &str,
    producer: &str,
    event: &E,
    occurred_at: DateTime<Utc>,
) -> Vec<u8> {
    EventEnvelope {
        event_id: Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        occurred_at: Some(ates_contracts::time::timestamp(occurred_at)),
        producer: producer.to_owned(),
        payload: event.encode_to_vec(),
        ..EventEnvelope::default()
    }
    .encode_to_vec()
}

/// Messages no consumer can ever apply: bytes that are no envelope, and a well-formed envelope
/// of a schema version nobody knows. Each must end in its queue's dead-letter queue.
pub fn poison() -> [Vec<u8>; 2] {
    [
        b"\x00\x01garbage".to_vec(),
        EventEnvelope {
            event_id: Uuid::new_v4().to_string(),
            event_type: "ates.tracker.events.v9.TaskCompleted".to_owned(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_764_000_000,
                nanos: 0,
            }),
            producer: "someone".to_owned(),
            payload: vec![8, 1],
            ..EventEnvelope::default()
        }
        .encode_to_vec(),
    ]
}
