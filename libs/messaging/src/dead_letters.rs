//! Operating the dead-letter queues: see what was set aside and why, and send it back to its
//! queue once the cause is fixed (a consumer that now knows a new schema version, a bug fixed).
//!
//! Neither operation requeues a message: `list` moves each message it reads to the back of the
//! same dead-letter queue (publish confirmed, then ack), `replay` moves it to the consumer's queue.
//! A requeue would count as a delivery, and brokers that cap deliveries on quorum queues would
//! eventually drop what an operator merely looked at. A message is acked only after its copy is
//! confirmed, so a crash in between leaves a duplicate, never a loss; the consumer's inbox makes a
//! replayed duplicate harmless.

use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::routing;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};
use prost::Message as _;

use crate::Topology;
use crate::consumer::{DEAD_LETTER_REASON_HEADER, DEAD_LETTERED_BY_HEADER, DELIVERY_COUNT_HEADER};

/// Why a dead-letter operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The queue is not one of aTES's consumer queues.
    #[error("{0} is not a consumer queue of aTES; known queues: {1}")]
    UnknownQueue(String, String),
    /// The broker refused or failed an operation.
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker did not confirm a copy; the original was left where it was.
    #[error("the broker did not confirm the copy of a message: {0}")]
    NotConfirmed(String),
    /// Stopped part-way: `done` messages had been handled (and stay handled) before `cause`;
    /// the message in hand stays in the dead-letter queue.
    #[error("stopped after {done} message(s): {cause}")]
    Stopped {
        /// Messages listed or moved before the failure.
        done: usize,
        /// What went wrong.
        cause: Box<DeadLetterError>,
    },
}

/// One message in a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    /// The envelope's event id, or empty when the body is not an envelope.
    pub event_id: String,
    /// The envelope's event type, or empty.
    pub event_type: String,
    /// Why it was set aside: the consumer's reason, or the broker's (`x-death`).
    pub reason: String,
    /// The service that set it aside, or `broker`.
    pub parked_by: String,
    /// Size of the body in bytes.
    pub size: usize,
}

/// The consumer queue (without prefix) and its deployed name and dead-letter queue.
fn queues(topology: &Topology, queue: &str) -> Result<(String, String), DeadLetterError> {
    let known: Vec<String> = routing::subscriptions()
        .iter()
        .map(routing::Subscription::queue)
        .collect();
    if !known.iter().any(|name| name == queue) {
        return Err(DeadLetterError::UnknownQueue(
            queue.to_owned(),
            known.join(", "),
        ));
    }
    let deployed = format!("{}{queue}", topology.prefix());
    let dead_letters = topology.dead_letter_queue(&deployed);
    Ok((deployed, dead_letters))
}

async fn ready_count(channel: &Channel, queue: &str) -> Result<u32, DeadLetterError> {
    let declared = channel
        .queue_declare(
            queue.to_owned().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(declared.message_count())
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(text) => Some(text.to_string()),
        AMQPValue::ShortString(text) => Some(text.to_string()),
        _ => None,
    }
}

fn describe(body: &[u8], properties: &BasicProperties) -> Parked {
    let headers = properties.headers().clone().unwrap_or_default();
    let header = |name: &str| headers.inner().get(name).and_then(text);
    let broker_reason = || {
        // Dead-lettered by the broker itself (delivery limit): the first x-death entry says why.
        match headers.inner().get("x-death") {
            Some(AMQPValue::FieldArray(deaths)) => deaths.as_slice().first().and_then(|death| {
                if let AMQPValue::FieldTable(death) = death {
                    death.inner().get("reason").and_then(text)
                } else {
                    None
                }
            }),
            _ => None,
        }
    };
    let (reason, parked_by) = match header(DEAD_LETTER_REASON_HEADER) {
        Some(reason) => (reason, header(DEAD_LETTERED_BY_HEADER).unwrap_or_default()),
        None => (
            broker_reason().unwrap_or_else(|| "(no reason recorded)".to_owned()),
            "broker".to_owned(),
        ),
    };
    let envelope = EventEnvelope::decode(body).unwrap_or_default();
    Parked {
        event_id: envelope.event_id,
        event_type: envelope.event_type,
        reason,
        parked_by,
        size: body.len(),
    }
}

async fn publish_confirmed(
    channel: &Channel,
    exchange: String,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), DeadLetterError> {
    crate::publish::publish_one_confirmed(
        channel,
        crate::publish::Outgoing {
            exchange,
            routing_key: routing_key.to_owned(),
            body,
            properties,
        },
    )
    .await?
    .map_err(DeadLetterError::NotConfirmed)
}

/// Every consumer queue of aTES (without prefix) and how many messages its dead-letter queue
/// holds; `None` when that queue is not declared yet.
pub async fn parked_counts(
    connection: &lapin::Connection,
    topology: &Topology,
) -> Result<Vec<(String, Option<u32>)>, DeadLetterError> {
    let mut counts = Vec::new();
    for subscription in routing::subscriptions() {
        let dead_letters = topology.dead_letter_queue(&topology.queue(&subscription));
        // A passive declare of a missing queue closes its channel: one channel each.
        let probe = connection.create_channel().await?;
        let parked = ready_count(&probe, &dead_letters).await.ok();
        if parked.is_some() {
            let _ = probe.close(200, "counted".into()).await;
        }
        counts.push((subscription.queue(), parked));
    }
    Ok(counts)
}

/// Every message now in `queue`'s dead-letter queue, oldest first. `channel` must be in
/// confirm mode. Messages that arrive while it runs are left for the next call.
pub async fn list(
    channel: &Channel,
    topology: &Topology,
    queue: &str,
) -> Result<Vec<Parked>, DeadLetterError> {
    let (deployed, dead_letters) = queues(topology, queue)?;
    let count = ready_count(channel, &dead_letters).await?;
    let mut parked = Vec::new();
    for _ in 0..count {
        let done = parked.len();
        let Some(delivery) = next(channel, &dead_letters).await.map_err(stopped(done))? else {
            break;
        };
        // To the back of the same queue, unchanged; then the original goes.
        publish_confirmed(
            channel,
            topology.dead_letter_exchange(),
            &deployed,
            &delivery.data,
            delivery.properties.clone(),
        )
        .await
        .map_err(stopped(done))?;
        ack(channel, &delivery).await.map_err(stopped(done))?;
        parked.push(describe(&delivery.data, &delivery.properties));
    }
    Ok(parked)
}

/// Moves up to `limit` (all when `None`) messages from `queue`'s dead-letter queue back to
/// `queue`, oldest first, without the headers that recorded their parking. Returns what was
/// moved. `channel` must be in confirm mode.
pub async fn replay(
    channel: &Channel,
    topology: &Topology,
    queue: &str,
    limit: Option<usize>,
) -> Result<Vec<Parked>, DeadLetterError> {
    let (deployed, dead_letters) = queues(topology, queue)?;
    // The consumer queue must exist, or every copy would come back unroutable.
    ready_count(channel, &deployed).await?;
    let count = usize::try_from(ready_count(channel, &dead_letters).await?).unwrap_or(usize::MAX);
    let mut moved = Vec::new();
    for _ in 0..limit.map_or(count, |limit| limit.min(count)) {
        let done = moved.len();
        let Some(delivery) = next(channel, &dead_letters).await.map_err(stopped(done))? else {
            break;
        };
        // The default exchange routes by queue name: straight back into the consumer's queue.
        publish_confirmed(
            channel,
            String::new(),
            &deployed,
            &delivery.data,
            without_parking(&delivery.properties),
        )
        .await
        .map_err(stopped(done))?;
        ack(channel, &delivery).await.map_err(stopped(done))?;
        moved.push(describe(&delivery.data, &delivery.properties));
    }
    Ok(moved)
}

/// Wraps an error with how many messages had been handled before it.
fn stopped(done: usize) -> impl FnOnce(DeadLetterError) -> DeadLetterError {
    move |cause| DeadLetterError::Stopped {
        done,
        cause: Box::new(cause),
    }
}

/// The next message of `queue`, not yet acked; `None` when the queue is empty.
async fn next(channel: &Channel, queue: &str) -> Result<Option<Delivery>, DeadLetterError> {
    Ok(channel
        .basic_get(queue.to_owned().into(), BasicGetOptions { no_ack: false })
        .await?
        .map(|message| message.delivery))
}

async fn ack(channel: &Channel, delivery: &Delivery) -> Result<(), DeadLetterError> {
    channel
        .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
        .await?;
    Ok(())
}

/// The properties without the headers that recorded a parking (ours and the broker's).
fn without_parking(properties: &BasicProperties) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (name, value) in properties.headers().clone().unwrap_or_default().inner() {
        let name: &str = name.as_str();
        let parking = [
            DEAD_LETTER_REASON_HEADER,
            DEAD_LETTERED_BY_HEADER,
            DELIVERY_COUNT_HEADER,
        ]
        .contains(&name)
            || name == "x-death"
            || name.starts_with("x-first-death-")
            || name.starts_with("x-last-death-");
        if !parking {
            headers.insert(ShortString::from(name.to_owned()), value.clone());
        }
    }
    properties.clone().with_headers(headers)
}
