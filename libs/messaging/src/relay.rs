//! Publishing the outbox: at least once, in batches, across broker restarts.

use std::sync::Arc;
use std::time::Duration;

use ates_contracts::routing::Service;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use lapin::options::ConfirmSelectOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::amqp::{AmqpSettings, Backoff};
use crate::metrics::RelayMetrics;
use crate::publish::{Outgoing, publish_confirmed};
use crate::schema::outbox_events;
use crate::session::{Reconnecting, SessionEnd, run_reconnecting};
use crate::{CONTENT_TYPE, DbPool, Outbox};

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Most events claimed, published and marked in one database transaction.
    pub batch_size: i64,
    /// Parallel publishing sessions (broker channel and database connection each); they share
    /// the outbox through `SKIP LOCKED`.
    pub sessions: usize,
    /// How often the outbox is polled when no commit woke the relay (rows written by another
    /// process of the same service are found this way).
    pub poll_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            sessions: 2,
            poll_interval: Duration::from_millis(250),
        }
    }
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Relay")
            .field("service", &self.service)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a round of publishing failed. The round's rows stay unpublished and are tried again.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The broker connection or channel failed.
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The database failed, or no connection could be had.
    #[error(transparent)]
    Database(#[from] ates_storage::DbError),
    /// Test only: the round was rolled back on purpose after the broker's confirms.
    #[error("rolled back on purpose")]
    RolledBack,
}

impl From<diesel::result::Error> for RelayError {
    fn from(error: diesel::result::Error) -> Self {
        RelayError::Database(error.into())
    }
}

/// Publishes a service's outbox to RabbitMQ.
///
/// Each round claims the oldest unpublished rows with `FOR UPDATE SKIP LOCKED` (so several
/// replicas share the work and no row is ever skipped), publishes them all, waits for every
/// confirm, and marks the confirmed ones published in the same transaction. A crash anywhere
/// before that commit leaves the rows unpublished: they are published again and the consumers'
/// inboxes drop the duplicates.
pub struct Relay {
    service: Service,
    pool: DbPool,
    amqp: AmqpSettings,
    committed: Arc<Notify>,
    config: RelayConfig,
    metrics: RelayMetrics,
}

#[derive(Queryable)]
struct PendingEvent {
    id: i64,
    event_id: Uuid,
    event_type: String,
    exchange: String,
    routing_key: String,
    envelope: Vec<u8>,
    traceparent: String,
    tracestate: String,
}

/// The broker's answer for one published row.
enum Outcome {
    Confirmed,
    Refused(String),
}

impl Relay {
    /// A relay for `outbox`, woken by its commits.
    pub fn new(outbox: &Outbox, pool: DbPool, amqp: AmqpSettings, config: RelayConfig) -> Self {
        Self {
            service: outbox.producer(),
            pool,
            amqp,
            committed: outbox.committed_signal(),
            config,
            metrics: RelayMetrics::new(),
        }
    }

    /// Publishes until `shutdown` is cancelled with `RelayConfig::sessions` parallel sessions,
    /// each reconnecting to the broker whenever it goes away.
    pub async fn run(self, shutdown: CancellationToken) {
        let sessions = self.config.sessions.max(1);
        let relay = Arc::new(self);
        let mut running = tokio::task::JoinSet::new();
        running.spawn(crate::metrics::sample_outbox(
            relay.pool.clone(),
            shutdown.clone(),
        ));
        for _ in 0..sessions {
            let relay = Arc::clone(&relay);
            let shutdown = shutdown.clone();
            running.spawn(async move { relay.run_session(shutdown).await });
        }
        while running.join_next().await.is_some() {}
    }

    async fn run_session(&self, shutdown: CancellationToken) {
        let what = format!("{} relay", self.service.binary_name());
        run_reconnecting(&what, self, &shutdown).await;
    }

    async fn open_channel(&self) -> Result<(Connection, Channel), lapin::Error> {
        let connection = self
            .amqp
            .connect(&format!("{} relay", self.service.binary_name()))
            .await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        self.amqp
            .topology
            .declare_for(&channel, self.service)
            .await?;
        Ok((connection, channel))
    }

    async fn publish_until_error(
        &self,
        channel: &Channel,
        shutdown: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let mut database_backoff = Backoff::default();
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            match self.publish_pending(channel).await {
                Ok(published) => {
                    database_backoff.reset();
                    if published > 0 {
                        continue;
                    }
                }
                Err(RelayError::Broker(error)) => return Err(error),
                Err(error) => {
                    let delay = database_backoff.next_delay();
                    tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "relay cannot read the outbox");
                    crate::session::sleep_or_shutdown(delay, shutdown).await;
                    continue;
                }
            }
            // Nothing pending: wait for a commit, the poll interval, or the end.
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.committed.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    /// Claims, publishes and marks one batch; returns how many rows the broker confirmed.
    pub async fn publish_pending(&self, channel: &Channel) -> Result<usize, RelayError> {
        self.publish_batch(channel, true).await
    }

    /// Publishes one batch and waits for the broker's confirms, then rolls back instead of marking
    /// the rows: what a relay that died between the confirm and the mark would have done.
    #[cfg(feature = "fault-injection")]
    pub async fn publish_pending_then_crash_before_marking(
        &self,
        channel: &Channel,
    ) -> Result<(), RelayError> {
        self.publish_batch(channel, false).await.map(drop)
    }

    /// Opens a confirm-mode channel the way [`Relay::run`] does, for driving single rounds.
    #[cfg(feature = "fault-injection")]
    pub async fn open_channel_for_test(&self) -> Result<(Connection, Channel), lapin::Error> {
        self.open_channel().await
    }

    async fn publish_batch(&self, channel: &Channel, mark: bool) -> Result<usize, RelayError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let prefix = self.amqp.topology.clone();
        let batch_size = self.config.batch_size;
        let confirmed = conn
            .transaction::<usize, RelayError, _>(async |conn| {
                    let pending = claim(conn, batch_size).await?;
                    if pending.is_empty() {
                        return Ok(0);
                    }
                    let outcomes = publish_all(channel, &prefix, &pending).await?;
                    ates_fault::fault_point("relay.after_confirm");
                    let mut confirmed_ids = Vec::with_capacity(pending.len());
                    for (event, outcome) in pending.iter().zip(outcomes) {
                        match outcome {
                            Outcome::Confirmed => {
                                self.metrics.published(&event.event_type);
                                confirmed_ids.push(event.id);
                            }
                            Outcome::Refused(reason) => {
                                tracing::error!(event.id = %event.event_id, event.type = %event.event_type, reason = %reason, "broker refused an event; it stays in the outbox");
                                record_refusal(conn, event.id, &reason).await?;
                            }
                        }
                    }
                    if mark {
                        // Published rows leave the outbox: the broker and the consumers' inboxes
                        // hold them from here on.
                        diesel::delete(outbox_events::table.filter(outbox_events::id.eq_any(&confirmed_ids)))
                            .execute(conn)
                            .await?;
                        Ok(confirmed_ids.len())
                    } else {
                        Err(RelayError::RolledBack)
                    }
            })
            .await;
        match confirmed {
            Err(RelayError::RolledBack) if !mark => Ok(0),
            other => other,
        }
    }
}

async fn claim(
    conn: &mut AsyncPgConnection,
    batch_size: i64,
) -> Result<Vec<PendingEvent>, diesel::result::Error> {
    outbox_events::table
        .filter(outbox_events::next_attempt_at.le(Utc::now()))
        .order(outbox_events::id)
        .limit(batch_size)
        .select((
            outbox_events::id,
            outbox_events::event_id,
            outbox_events::event_type,
            outbox_events::exchange,
            outbox_events::routing_key,
            outbox_events::envelope,
            outbox_events::traceparent,
            outbox_events::tracestate,
        ))
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Publishes every pending event and waits for the broker's answers, one per event.
async fn publish_all(
    channel: &Channel,
    topology: &crate::Topology,
    pending: &[PendingEvent],
) -> Result<Vec<Outcome>, lapin::Error> {
    let answers = publish_confirmed(
        channel,
        pending.iter().map(|event| Outgoing {
            exchange: topology.exchange(&event.exchange),
            routing_key: event.routing_key.clone(),
            body: &event.envelope,
            properties: properties(event),
        }),
    )
    .await?;
    Ok(answers
        .into_iter()
        .map(|answer| match answer {
            Ok(()) => Outcome::Confirmed,
            Err(reason) => Outcome::Refused(reason),
        })
        .collect())
}

fn properties(event: &PendingEvent) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (name, value) in [
        (ates_telemetry::TRACEPARENT, &event.traceparent),
        (ates_telemetry::TRACESTATE, &event.tracestate),
    ] {
        if !value.is_empty() {
            headers.insert(
                name.into(),
                AMQPValue::LongString(LongString::from(value.as_str())),
            );
        }
    }
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(CONTENT_TYPE.into())
        .with_message_id(event.event_id.to_string().into())
        .with_type(event.event_type.clone().into())
        .with_timestamp(u64::try_from(Utc::now().timestamp()).unwrap_or(0))
        .with_headers(headers)
}

async fn record_refusal(
    conn: &mut AsyncPgConnection,
    id: i64,
    reason: &str,
) -> Result<(), diesel::result::Error> {
    // Back off a refused row so it cannot spin the relay: 1 s, 2 s, 4 s ... up to 5 minutes.
    diesel::sql_query(
        "UPDATE outbox_events SET publish_attempts = publish_attempts + 1, last_error = $2, \
         next_attempt_at = now() + least(interval '5 minutes', interval '1 second' * power(2, least(publish_attempts, 10))) \
         WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .bind::<diesel::sql_types::Text, _>(reason)
    .execute(conn)
    .await?;
    Ok(())
}

impl Reconnecting for Relay {
    type Session = Channel;

    async fn open(&self) -> Result<(Connection, Channel), lapin::Error> {
        self.open_channel().await
    }

    async fn work(&self, channel: &mut Channel, shutdown: &CancellationToken) -> SessionEnd {
        match self.publish_until_error(channel, shutdown).await {
            Ok(()) => SessionEnd::Shutdown,
            Err(error) => SessionEnd::Lost(error),
        }
    }
}
