//! Consuming a queue through the inbox: each event applied at most once, acked after commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use ates_contracts::routing::{Service, Subscription};
use ates_storage::DbPool;
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Connection};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::amqp::{AmqpSettings, Backoff};
use crate::batch::{self, Action, Applier, RetryPolicy};
use crate::envelope::RawEvent;
use crate::handler::QueueHandler;
use crate::metrics::ConsumerMetrics;
use crate::outbox::Outbox;
use crate::publish::{Outgoing, publish_one_confirmed};
use crate::session::{Reconnecting, SessionEnd, run_reconnecting};

/// The header of a dead-lettered message that says why it was set aside.
pub const DEAD_LETTER_REASON_HEADER: &str = "x-ates-dead-letter-reason";
/// The header of a dead-lettered message that names the service that set it aside.
pub(crate) const DEAD_LETTERED_BY_HEADER: &str = "x-ates-dead-lettered-by";
/// The header RabbitMQ quorum queues put on redeliveries: how often the message was delivered.
pub(crate) const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";

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
    /// Event types set aside unread, with a reason that says so (`CONSUMER_PARK_EVENT_TYPES`):
    /// an operator's brake for a schema version that turns out wrong, and what a consumer of a
    /// release that does not read a version yet does. Replaying them once the setting is lifted
    /// applies each once.
    pub parked_event_types: Vec<String>,
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
            parked_event_types: Vec::new(),
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
    /// The consuming service's outbox: handlers may record events, and its relay is woken after
    /// each commit that did.
    outbox: Outbox,
    handler: Arc<dyn QueueHandler>,
    config: ConsumerConfig,
    stats: Arc<ConsumerStats>,
    metrics: ConsumerMetrics,
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

/// The channels and the delivery stream of one consuming session.
pub(crate) struct Session {
    /// Kept open for the life of the session: its deliveries are acked on it.
    _consume_channel: Channel,
    park_channel: Channel,
    deliveries: lapin::Consumer,
}

impl Consumer {
    /// A consumer of `subscription` (one of `outbox`'s service's queues) applying events with
    /// `handler`.
    pub fn new(
        subscription: Subscription,
        pool: DbPool,
        amqp: AmqpSettings,
        outbox: Outbox,
        handler: Arc<dyn QueueHandler>,
        config: ConsumerConfig,
    ) -> Self {
        assert_eq!(
            outbox.producer(),
            subscription.consumer,
            "a consumer records events in its own service's outbox"
        );
        Self {
            service: subscription.consumer,
            subscription,
            pool,
            amqp,
            outbox,
            handler,
            config,
            stats: Arc::default(),
            metrics: ConsumerMetrics::new(),
        }
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
        run_reconnecting(&format!("consumer {}", self.queue()), self, &shutdown).await;
    }

    async fn open_session(&self, queue: &str) -> Result<(Connection, Session), lapin::Error> {
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
        let deliveries = consume_channel
            .basic_consume(
                queue.to_owned().into(),
                format!("{}-{}", self.service.binary_name(), Uuid::new_v4()).into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((
            connection,
            Session {
                _consume_channel: consume_channel,
                park_channel,
                deliveries,
            },
        ))
    }

    async fn consume(
        &self,
        queue: &str,
        session: &mut Session,
        shutdown: &CancellationToken,
    ) -> SessionEnd {
        let Session {
            park_channel,
            deliveries,
            ..
        } = session;
        // Deliveries of this channel waiting to be requeued; while any is, acks are one by one.
        let pending_requeues = Arc::new(AtomicUsize::new(0));
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return SessionEnd::Shutdown,
                next = deliveries.next() => next,
            };
            let mut batch = match first {
                Some(Ok(delivery)) => vec![delivery],
                Some(Err(error)) => return SessionEnd::Lost(error),
                None => {
                    return SessionEnd::Lost(lapin::Error::from(
                        lapin::ErrorKind::InvalidChannelState(
                            lapin::ChannelState::Closed,
                            "consumer stream ended",
                        ),
                    ));
                }
            };
            // Take what is already buffered, without waiting, up to a batch.
            while batch.len() < self.config.batch_size {
                match deliveries.next().now_or_never() {
                    Some(Some(Ok(delivery))) => batch.push(delivery),
                    Some(Some(Err(error))) => return SessionEnd::Lost(error),
                    Some(None) | None => break,
                }
            }
            if let Err(end) = self
                .process_batch(queue, park_channel, batch, &pending_requeues, shutdown)
                .await
            {
                return end;
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
        let parsed: Vec<Result<RawEvent, String>> = batch
            .iter()
            .map(|delivery| {
                let raw = RawEvent::parse(&delivery.data)?;
                if self.config.parked_event_types.contains(&raw.event_type) {
                    Err(format!(
                        "`{}` is parked unread on queue {queue} by CONSUMER_PARK_EVENT_TYPES; \
                         replay it once the setting is lifted",
                        raw.event_type
                    ))
                } else if self.handler.reads(&raw.event_type) {
                    Ok(raw)
                } else {
                    Err(format!(
                        "unknown event type or schema version `{}` for queue {queue}",
                        raw.event_type
                    ))
                }
            })
            .collect();

        let applier = Applier {
            pool: &self.pool,
            outbox: &self.outbox,
            handler: &self.handler,
            queue,
        };
        let mut database_backoff = Backoff::default();
        let outcomes = loop {
            match applier.apply(&parsed).await {
                Ok(outcomes) => break outcomes,
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

        // The crash point is a commit that changed something: a batch of redeliveries or
        // failures committed nothing worth dying over.
        if outcomes
            .iter()
            .any(|outcome| matches!(outcome, batch::Outcome::Applied))
        {
            ates_fault::fault_point("consumer.after_commit");
        }
        #[cfg(feature = "fault-injection")]
        if self.config.crash_after_first_commit {
            tracing::warn!(queue = %queue, "fault injection: consumer dies after commit, before ack");
            return Err(SessionEnd::Crashed);
        }

        // Decide first, act after: parks are confirmed before any ack.
        let policy = RetryPolicy {
            max_attempts: self.config.max_attempts,
            retry_delay: self.config.retry_delay,
        };
        let mut actions = Vec::with_capacity(batch.len());
        let outcomes_seen: Vec<bool> = outcomes
            .iter()
            .map(|outcome| matches!(outcome, batch::Outcome::Applied))
            .collect();
        for (delivery, outcome) in batch.iter().zip(outcomes) {
            let earlier_deliveries = delivery_count(delivery);
            match &outcome {
                batch::Outcome::Applied => ConsumerStats::add(&self.stats.applied),
                batch::Outcome::AlreadyApplied => ConsumerStats::add(&self.stats.already_applied),
                batch::Outcome::Retry(reason) => {
                    tracing::warn!(queue = %queue, attempt = earlier_deliveries + 1, reason = %reason, "an event failed");
                }
                batch::Outcome::Park(_) => {}
            }
            actions.push(batch::decide(outcome, earlier_deliveries, policy));
        }
        self.metrics.batch(queue, &parsed, &outcomes_seen, &actions);
        for (delivery, action) in batch.iter().zip(&actions) {
            if let Action::Park(reason) = action {
                self.park(park_channel, queue, delivery, reason)
                    .await
                    .map_err(SessionEnd::Lost)?;
                ConsumerStats::add(&self.stats.parked);
            }
        }
        if batch::one_ack_covers_all(&actions, pending_requeues.load(Ordering::Acquire)) {
            if let Some(last) = batch.last() {
                last.acker
                    .ack(BasicAckOptions { multiple: true })
                    .await
                    .map_err(SessionEnd::Lost)?;
            }
            return Ok(());
        }
        for (delivery, action) in batch.into_iter().zip(actions) {
            match action {
                Action::Ack | Action::Park(_) => {
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(SessionEnd::Lost)?;
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
        let answer = publish_one_confirmed(
            channel,
            Outgoing {
                exchange: self.amqp.topology.dead_letter_exchange(),
                routing_key: queue.to_owned(),
                body: &delivery.data,
                properties: delivery
                    .properties
                    .clone()
                    .with_headers(headers)
                    .with_delivery_mode(2),
            },
        )
        .await?;
        answer.map_err(|_refused| {
            lapin::Error::from(lapin::ErrorKind::InvalidChannelState(
                lapin::ChannelState::Error,
                "the dead-letter copy was not confirmed",
            ))
        })
    }
}

impl Reconnecting for Consumer {
    type Session = Session;

    async fn open(&self) -> Result<(Connection, Session), lapin::Error> {
        self.open_session(&self.queue()).await
    }

    async fn work(&self, session: &mut Session, shutdown: &CancellationToken) -> SessionEnd {
        self.consume(&self.queue(), session, shutdown).await
    }
}

/// How often the broker delivered this message before (0 on the first delivery).
fn delivery_count(delivery: &Delivery) -> u32 {
    let Some(headers) = delivery.properties.headers() else {
        return 0;
    };
    let count = match headers.inner().get(DELIVERY_COUNT_HEADER) {
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
