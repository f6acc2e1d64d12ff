//! Consuming a queue through the inbox: each event applied at most once, acked after commit.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::routing::{Service, Subscription};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use lapin::Confirmation;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Connection};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::DbPool;
use crate::amqp::{AmqpSettings, Backoff};
use crate::schema::inbox_events;

/// The header of a dead-lettered message that says why it was set aside.
pub const DEAD_LETTER_REASON_HEADER: &str = "x-ates-dead-letter-reason";
/// The header of a dead-lettered message that names the service that set it aside.
pub(crate) const DEAD_LETTERED_BY_HEADER: &str = "x-ates-dead-lettered-by";
/// The header RabbitMQ quorum queues put on redeliveries: how often the message was delivered.
const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";

/// A decoded delivery: the envelope's facts and the payload, not yet decoded.
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    /// The event id fixed by the producer.
    pub event_id: Uuid,
    /// Fully qualified type with schema version, e.g. `ates.tracker.events.v1.TaskAdded`.
    pub event_type: String,
    /// When the business fact happened at the producer.
    pub occurred_at: DateTime<Utc>,
    /// The producing service.
    pub producer: String,
    /// The encoded event message.
    pub payload: Vec<u8>,
    traceparent: String,
    tracestate: String,
}

impl ReceivedEvent {
    /// Decodes the payload as `E`; a payload that does not decode is rejected for good.
    pub fn decode<E: prost::Message + Default>(&self) -> Result<E, HandlerError> {
        E::decode(self.payload.as_slice()).map_err(|error| {
            HandlerError::Rejected(format!(
                "payload of {} does not decode: {error}",
                self.event_type
            ))
        })
    }

    fn from_delivery(data: &[u8]) -> Result<Self, String> {
        let envelope = EventEnvelope::decode(data)
            .map_err(|error| format!("envelope does not decode: {error}"))?;
        let event_id = Uuid::parse_str(&envelope.event_id).map_err(|error| {
            format!(
                "envelope event_id `{}` is not a UUID: {error}",
                envelope.event_id
            )
        })?;
        if envelope.event_type.is_empty() {
            return Err("envelope event_type is empty".to_owned());
        }
        let occurred_at = envelope
            .occurred_at
            .as_ref()
            .and_then(ates_contracts::time::instant)
            .ok_or_else(|| "envelope occurred_at is missing or out of range".to_owned())?;
        Ok(Self {
            event_id,
            event_type: envelope.event_type,
            occurred_at,
            producer: envelope.producer,
            payload: envelope.payload,
            traceparent: envelope.traceparent,
            tracestate: envelope.tracestate,
        })
    }
}

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event can never be applied (bad data, a broken rule): it is parked at once.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Applying failed but may succeed later: the event is retried, and parked after
    /// `ConsumerConfig::max_attempts` deliveries.
    #[error("failed: {0}")]
    Failed(String),
    /// The database could not apply it now (a lost connection, a serialization failure, a
    /// deadlock with a parallel session): the whole batch is applied again after a pause, and
    /// this does not count as an attempt. Money events must never be parked for contention.
    #[error("transient: {0}")]
    Transient(String),
}

impl From<diesel::result::Error> for HandlerError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        let transient = match &error {
            Error::DatabaseError(
                DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::ClosedConnection,
                _,
            ) => true,
            // PostgreSQL's 40P01 has no kind of its own in diesel.
            Error::DatabaseError(_, information) => {
                information.message().starts_with("deadlock detected")
            }
            Error::BrokenTransactionManager => true,
            _ => false,
        };
        if transient {
            HandlerError::Transient(error.to_string())
        } else {
            HandlerError::Failed(error.to_string())
        }
    }
}

/// Applies the events of one queue. Runs inside the consumer's transaction: everything it writes
/// through `conn` commits together with the inbox row, or not at all.
pub trait Handler: Send + Sync + 'static {
    /// The event types (with version) this handler applies; any other type is parked.
    fn event_types(&self) -> &[&'static str];

    /// Applies one event. Handlers may also enforce business keys of their own (a re-sent fact
    /// under a new event id): an already-applied fact should return `Ok` and change nothing.
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a ReceivedEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;

    /// Applies several events in one go, in the given order. The consumer calls it with the new
    /// events of a batch; when it fails, the batch is rolled back and applied again event by
    /// event with [`Handler::handle`], so a handler that overrides this only has to be fast, and
    /// all-or-nothing. The default applies them one by one.
    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        queue: &'a str,
        events: &'a [&'a ReceivedEvent],
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            for event in events {
                self.handle(conn, event)
                    .instrument(event_span(queue, event))
                    .await?;
            }
            Ok(())
        })
    }
}

/// What a consumer has done so far; for metrics and tests.
#[derive(Debug, Default)]
pub struct ConsumerStats {
    /// Events applied (the handler ran and its transaction committed).
    pub applied: AtomicU64,
    /// Deliveries of events that had been applied before (acked without effect).
    pub already_applied: AtomicU64,
    /// Messages set aside in the dead-letter queue.
    pub parked: AtomicU64,
    /// Deliveries handed back to the queue to be tried again.
    pub retried: AtomicU64,
}

impl ConsumerStats {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// How a consumer paces itself.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Most unacknowledged deliveries the broker sends ahead (`basic.qos`).
    pub prefetch: u16,
    /// Most deliveries applied in one database transaction.
    pub batch_size: usize,
    /// Parallel sessions (channel and database connection each) on the queue. Events of one
    /// queue are then applied in no guaranteed order, which handlers must accept anyway:
    /// redeliveries already reorder them.
    pub sessions: usize,
    /// Deliveries of a message whose handler keeps failing before it is parked.
    pub max_attempts: u32,
    /// Wait before a failed message goes back to the queue, times its delivery count.
    pub retry_delay: Duration,
    /// Test only: after the first committed batch, stop without acking it.
    #[cfg(feature = "fault-injection")]
    pub crash_after_first_commit: bool,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            prefetch: 512,
            batch_size: 256,
            sessions: 3,
            max_attempts: 5,
            retry_delay: Duration::from_millis(200),
            #[cfg(feature = "fault-injection")]
            crash_after_first_commit: false,
        }
    }
}

/// Consumes one queue of a service through its inbox.
pub struct Consumer {
    service: Service,
    subscription: Subscription,
    pool: DbPool,
    amqp: AmqpSettings,
    handler: Arc<dyn Handler>,
    config: ConsumerConfig,
    stats: Arc<ConsumerStats>,
    /// The consuming service's outbox, woken after each commit: handlers may record events.
    outbox: Option<crate::Outbox>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Consumer")
            .field("service", &self.service)
            .field("queue", &self.subscription.queue())
            .finish_non_exhaustive()
    }
}

/// What became of one delivery in a batch.
enum Outcome {
    Applied,
    AlreadyApplied,
    Park(String),
    Retry(String),
}

/// What is done with a delivery after its batch committed.
enum Action {
    Ack,
    Park(String),
    Requeue(Duration),
}

/// Why a batch's transaction did not commit. The batch is applied again (the inbox makes that
/// safe) after a pause.
#[derive(Debug, thiserror::Error)]
enum BatchError {
    #[error("database pool: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// A handler did not apply its event; the batch is applied again event by event.
    #[error("a handler refused an event")]
    HandlerRefused,
    /// A handler hit a transient database condition; the batch is applied again later.
    #[error("transient: {0}")]
    Transient(String),
}

/// How a consuming session ended.
enum SessionEnd {
    Shutdown,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    Crashed,
    Broker(lapin::Error),
}

impl Consumer {
    /// A consumer of `subscription` (one of `service`'s queues) applying events with `handler`.
    pub fn new(
        subscription: Subscription,
        pool: DbPool,
        amqp: AmqpSettings,
        handler: Arc<dyn Handler>,
        config: ConsumerConfig,
    ) -> Self {
        Self {
            service: subscription.consumer,
            subscription,
            pool,
            amqp,
            handler,
            config,
            stats: Arc::default(),
            outbox: None,
        }
    }

    /// Wakes `outbox`'s relay after every committed batch, so events the handlers recorded go
    /// out at once.
    pub fn with_outbox(mut self, outbox: crate::Outbox) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// The consumer's counters, shared with the running consumer.
    pub fn stats(&self) -> Arc<ConsumerStats> {
        Arc::clone(&self.stats)
    }

    /// The deployed name of the queue this consumer reads.
    pub fn queue(&self) -> String {
        self.amqp.topology.queue(&self.subscription)
    }

    /// Consumes until `shutdown` is cancelled with `ConsumerConfig::sessions` parallel sessions,
    /// each reconnecting whenever the broker goes away. Returns early only in the
    /// fault-injection crash.
    pub async fn run(self, shutdown: CancellationToken) {
        let sessions = self.config.sessions.max(1);
        let consumer = Arc::new(self);
        let mut running = tokio::task::JoinSet::new();
        for _ in 0..sessions {
            let consumer = Arc::clone(&consumer);
            let shutdown = shutdown.clone();
            running.spawn(async move { consumer.run_session(shutdown).await });
        }
        while running.join_next().await.is_some() {}
    }

    async fn run_session(&self, shutdown: CancellationToken) {
        let mut backoff = Backoff::default();
        let queue = self.queue();
        while !shutdown.is_cancelled() {
            let session = tokio::select! {
                () = shutdown.cancelled() => return,
                session = self.open_session(&queue) => session,
            };
            let (connection, consume_channel, park_channel, consumer) = match session {
                Ok(session) => session,
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(queue = %queue, error = %error, retry_in_ms = delay.as_millis() as u64, "consumer cannot reach the broker");
                    sleep_or_shutdown(delay, &shutdown).await;
                    continue;
                }
            };
            tracing::info!(queue = %queue, "consumer connected to the broker");
            backoff.reset();
            let end = self
                .consume(&queue, &park_channel, consumer, &shutdown)
                .await;
            match end {
                SessionEnd::Shutdown => {
                    // Unacked deliveries go back to the queue when the channel closes.
                    let _ = consume_channel.close(200, "consumer stopping".into()).await;
                    let _ = connection.close(200, "consumer stopping".into()).await;
                    return;
                }
                SessionEnd::Crashed => {
                    let _ = connection.close(320, "consumer crashed".into()).await;
                    return;
                }
                SessionEnd::Broker(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(queue = %queue, error = %error, retry_in_ms = delay.as_millis() as u64, "consumer lost the broker");
                    let _ = connection.close(200, "consumer reconnecting".into()).await;
                    sleep_or_shutdown(delay, &shutdown).await;
                }
            }
        }
    }

    async fn open_session(
        &self,
        queue: &str,
    ) -> Result<(Connection, Channel, Channel, lapin::Consumer), lapin::Error> {
        let connection = self
            .amqp
            .connect(&format!(
                "{} consumer {}",
                self.service.binary_name(),
                self.subscription.exchange
            ))
            .await?;
        let consume_channel = connection.create_channel().await?;
        self.amqp
            .topology
            .declare_for(&consume_channel, self.service)
            .await?;
        consume_channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        let park_channel = connection.create_channel().await?;
        park_channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let consumer = consume_channel
            .basic_consume(
                queue.to_owned().into(),
                format!("{}-{}", self.service.binary_name(), Uuid::new_v4()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((connection, consume_channel, park_channel, consumer))
    }

    async fn consume(
        &self,
        queue: &str,
        park_channel: &Channel,
        mut consumer: lapin::Consumer,
        shutdown: &CancellationToken,
    ) -> SessionEnd {
        // Deliveries of this channel waiting to be requeued; while any is, acks are one by one.
        let pending_requeues = Arc::new(AtomicUsize::new(0));
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return SessionEnd::Shutdown,
                next = consumer.next() => next,
            };
            let mut batch = match first {
                Some(Ok(delivery)) => vec![delivery],
                Some(Err(error)) => return SessionEnd::Broker(error),
                None => {
                    return SessionEnd::Broker(lapin::Error::from(
                        lapin::ErrorKind::InvalidChannelState(
                            lapin::ChannelState::Closed,
                            "consumer stream ended",
                        ),
                    ));
                }
            };
            // Take what is already buffered, without waiting, up to a batch.
            while batch.len() < self.config.batch_size {
                match consumer.next().now_or_never() {
                    Some(Some(Ok(delivery))) => batch.push(delivery),
                    Some(Some(Err(error))) => return SessionEnd::Broker(error),
                    Some(None) | None => break,
                }
            }
            match self
                .process_batch(queue, park_channel, batch, &pending_requeues, shutdown)
                .await
            {
                Ok(()) => {}
                Err(end) => return end,
            }
        }
    }

    async fn process_batch(
        &self,
        queue: &str,
        park_channel: &Channel,
        batch: Vec<Delivery>,
        pending_requeues: &Arc<AtomicUsize>,
        shutdown: &CancellationToken,
    ) -> Result<(), SessionEnd> {
        // Envelope and type checks need no database.
        let mut parsed = Vec::with_capacity(batch.len());
        for delivery in &batch {
            let parsed_event = ReceivedEvent::from_delivery(&delivery.data).and_then(|event| {
                if self
                    .handler
                    .event_types()
                    .contains(&event.event_type.as_str())
                {
                    Ok(event)
                } else {
                    Err(format!(
                        "unknown event type or schema version `{}` for queue {queue}",
                        event.event_type
                    ))
                }
            });
            parsed.push(parsed_event);
        }

        let mut database_backoff = Backoff::default();
        let outcomes = loop {
            match self.apply(queue, &parsed).await {
                Ok(outcomes) => {
                    if let Some(outbox) = &self.outbox {
                        outbox.notify_committed();
                    }
                    break outcomes;
                }
                Err(error) => {
                    let delay = database_backoff.next_delay();
                    tracing::warn!(queue = %queue, error = %error, retry_in_ms = delay.as_millis() as u64, "consumer cannot apply a batch; it will be applied again");
                    tokio::select! {
                        () = shutdown.cancelled() => return Err(SessionEnd::Shutdown),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        };

        #[cfg(feature = "fault-injection")]
        if self.config.crash_after_first_commit {
            tracing::warn!(queue = %queue, "fault injection: consumer dies after commit, before ack");
            return Err(SessionEnd::Crashed);
        }

        // Decide first, act after: parks are confirmed before any ack.
        let mut actions = Vec::with_capacity(batch.len());
        for (delivery, outcome) in batch.into_iter().zip(outcomes) {
            let action = match outcome {
                Outcome::Applied => {
                    ConsumerStats::add(&self.stats.applied);
                    Action::Ack
                }
                Outcome::AlreadyApplied => {
                    ConsumerStats::add(&self.stats.already_applied);
                    Action::Ack
                }
                Outcome::Park(reason) => Action::Park(reason),
                Outcome::Retry(reason) => {
                    let attempts = delivery_count(&delivery) + 1;
                    if attempts >= self.config.max_attempts {
                        Action::Park(format!(
                            "handler failed {attempts} times; last error: {reason}"
                        ))
                    } else {
                        tracing::warn!(queue = %queue, attempt = attempts, reason = %reason, "event failed; it will be delivered again");
                        Action::Requeue(self.config.retry_delay * attempts)
                    }
                }
            };
            actions.push((delivery, action));
        }
        for (delivery, action) in &actions {
            if let Action::Park(reason) = action {
                self.park(park_channel, queue, delivery, reason)
                    .await
                    .map_err(SessionEnd::Broker)?;
                ConsumerStats::add(&self.stats.parked);
            }
        }
        // One ack for the whole batch when nothing on this channel waits to be requeued:
        // `multiple` acks every earlier delivery of the channel too.
        let requeues = actions
            .iter()
            .any(|(_, action)| matches!(action, Action::Requeue(_)));
        if !requeues && AtomicUsize::load(pending_requeues, Ordering::Acquire) == 0 {
            if let Some((last, _)) = actions.last() {
                last.acker
                    .ack(BasicAckOptions { multiple: true })
                    .await
                    .map_err(SessionEnd::Broker)?;
            }
            return Ok(());
        }
        for (delivery, action) in actions {
            match action {
                Action::Ack | Action::Park(_) => {
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(SessionEnd::Broker)?;
                }
                Action::Requeue(delay) => {
                    ConsumerStats::add(&self.stats.retried);
                    // Requeue after a pause, without holding up the deliveries behind it.
                    pending_requeues.fetch_add(1, Ordering::AcqRel);
                    let pending_requeues = Arc::clone(pending_requeues);
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let requeue = BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        };
                        // If the channel is gone the broker requeues the message itself.
                        let _ = delivery.acker.nack(requeue).await;
                        pending_requeues.fetch_sub(1, Ordering::AcqRel);
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies the parseable events of a batch in one transaction, each in its own savepoint,
    /// so one failing event does not undo the others.
    async fn apply(
        &self,
        queue: &str,
        parsed: &[Result<ReceivedEvent, String>],
    ) -> Result<Vec<Outcome>, BatchError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|error| BatchError::Pool(error.to_string()))?;
        match self.apply_all_or_nothing(&mut conn, queue, parsed).await {
            Ok(outcomes) => Ok(outcomes),
            // A handler refused or failed: apply again, one savepoint per event, so that only
            // that event is set aside or retried.
            Err(BatchError::HandlerRefused) => {
                self.apply_one_by_one(&mut conn, queue, parsed).await
            }
            Err(error) => Err(error),
        }
    }

    /// The fast path: one inbox statement for the whole batch, then every handler, in one
    /// transaction without savepoints. Any handler error rolls the whole batch back.
    async fn apply_all_or_nothing(
        &self,
        conn: &mut AsyncPgConnection,
        queue: &str,
        parsed: &[Result<ReceivedEvent, String>],
    ) -> Result<Vec<Outcome>, BatchError> {
        let handler = &self.handler;
        conn.transaction::<Vec<Outcome>, BatchError, _>(async |conn| {
            let rows: Vec<_> = parsed
                .iter()
                .filter_map(|parsed_event| parsed_event.as_ref().ok())
                .map(|event| {
                    (
                        inbox_events::event_id.eq(event.event_id),
                        inbox_events::event_type.eq(&event.event_type),
                        inbox_events::queue.eq(queue),
                    )
                })
                .collect();
            let mut fresh: HashSet<Uuid> = if rows.is_empty() {
                HashSet::new()
            } else {
                diesel::insert_into(inbox_events::table)
                    .values(&rows)
                    .on_conflict_do_nothing()
                    .returning(inbox_events::event_id)
                    .get_results(conn)
                    .await?
                    .into_iter()
                    .collect()
            };
            let mut outcomes = Vec::with_capacity(parsed.len());
            let mut new_events = Vec::with_capacity(parsed.len());
            for parsed_event in parsed {
                let event = match parsed_event {
                    Ok(event) => event,
                    Err(reason) => {
                        outcomes.push(Outcome::Park(reason.clone()));
                        continue;
                    }
                };
                // `remove`, so a second copy of an event in the same batch counts as applied.
                if fresh.remove(&event.event_id) {
                    new_events.push(event);
                    outcomes.push(Outcome::Applied);
                } else {
                    outcomes.push(Outcome::AlreadyApplied);
                }
            }
            if !new_events.is_empty() {
                let span = tracing::info_span!("consume batch", messaging.destination = %queue, events = new_events.len());
                handler
                    .handle_batch(conn, queue, &new_events)
                    .instrument(span)
                    .await
                    .map_err(|_| BatchError::HandlerRefused)?;
            }
            Ok(outcomes)
        })
        .await
    }

    /// The careful path: each event in a savepoint of its own.
    async fn apply_one_by_one(
        &self,
        conn: &mut AsyncPgConnection,
        queue: &str,
        parsed: &[Result<ReceivedEvent, String>],
    ) -> Result<Vec<Outcome>, BatchError> {
        let handler = &self.handler;
        conn.transaction::<Vec<Outcome>, BatchError, _>(async |conn| {
            let mut outcomes = Vec::with_capacity(parsed.len());
            for parsed_event in parsed {
                let event = match parsed_event {
                    Ok(event) => event,
                    Err(reason) => {
                        outcomes.push(Outcome::Park(reason.clone()));
                        continue;
                    }
                };
                let result = conn
                    .transaction::<bool, SavepointError, _>(async |conn| {
                        let inserted = diesel::insert_into(inbox_events::table)
                            .values((
                                inbox_events::event_id.eq(event.event_id),
                                inbox_events::event_type.eq(&event.event_type),
                                inbox_events::queue.eq(queue),
                            ))
                            .on_conflict_do_nothing()
                            .execute(conn)
                            .await?;
                        if inserted == 0 {
                            return Ok(false);
                        }
                        handler
                            .handle(conn, event)
                            .await
                            .map_err(SavepointError::Handler)?;
                        Ok(true)
                    })
                    .instrument(event_span(queue, event))
                    .await;
                outcomes.push(match result {
                    Ok(true) => Outcome::Applied,
                    Ok(false) => Outcome::AlreadyApplied,
                    Err(SavepointError::Handler(HandlerError::Rejected(reason))) => {
                        Outcome::Park(reason)
                    }
                    Err(SavepointError::Handler(HandlerError::Failed(reason))) => {
                        Outcome::Retry(reason)
                    }
                    Err(SavepointError::Handler(HandlerError::Transient(reason))) => {
                        return Err(BatchError::Transient(reason));
                    }
                    Err(SavepointError::Database(error)) => {
                        return Err(BatchError::Database(error));
                    }
                });
            }
            Ok(outcomes)
        })
        .await
    }

    /// Sets a delivery aside in the queue's dead-letter queue with its reason, and waits for the
    /// broker to confirm it before the caller acks the original.
    async fn park(
        &self,
        channel: &Channel,
        queue: &str,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), lapin::Error> {
        tracing::warn!(queue = %queue, reason = %reason, "parking a message in the dead-letter queue");
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(
            DEAD_LETTER_REASON_HEADER.into(),
            AMQPValue::LongString(LongString::from(reason)),
        );
        headers.insert(
            DEAD_LETTERED_BY_HEADER.into(),
            AMQPValue::LongString(LongString::from(self.service.binary_name())),
        );
        let properties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2);
        let confirmation = channel
            .basic_publish(
                self.amqp.topology.dead_letter_exchange().into(),
                queue.to_owned().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &delivery.data,
                properties,
            )
            .await?
            .await?;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            other => Err(lapin::Error::from(lapin::ErrorKind::InvalidChannelState(
                lapin::ChannelState::Error,
                if other.is_nack() {
                    "dead-letter publish was nacked"
                } else {
                    "dead-letter publish was returned"
                },
            ))),
        }
    }
}

/// Why a savepoint rolled back.
#[derive(Debug)]
enum SavepointError {
    Handler(HandlerError),
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for SavepointError {
    fn from(error: diesel::result::Error) -> Self {
        SavepointError::Database(error)
    }
}

/// The span an event is applied in: a child of the producer's trace.
pub(crate) fn event_span(queue: &str, event: &ReceivedEvent) -> tracing::Span {
    let span = tracing::info_span!(
        "consume event",
        messaging.system = "rabbitmq",
        messaging.destination = %queue,
        event.id = %event.event_id,
        event.type = %event.event_type,
    );
    ates_telemetry::set_remote_parent(&span, &event.traceparent, &event.tracestate);
    span
}

/// How often the broker delivered this message before (0 on the first delivery).
fn delivery_count(delivery: &Delivery) -> u32 {
    let Some(headers) = delivery.properties.headers() else {
        return 0;
    };
    let value = headers.inner().get(DELIVERY_COUNT_HEADER);
    let count = match value {
        Some(AMQPValue::LongLongInt(count)) => *count,
        Some(AMQPValue::LongInt(count)) => i64::from(*count),
        Some(AMQPValue::LongUInt(count)) => i64::from(*count),
        Some(AMQPValue::ShortInt(count)) => i64::from(*count),
        Some(AMQPValue::ShortUInt(count)) => i64::from(*count),
        Some(AMQPValue::ShortShortInt(count)) => i64::from(*count),
        Some(AMQPValue::ShortShortUInt(count)) => i64::from(*count),
        _ => 0,
    };
    u32::try_from(count).unwrap_or(0)
}

async fn sleep_or_shutdown(delay: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(delay) => {}
    }
}
