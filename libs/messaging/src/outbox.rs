//! Recording events in the producer's own transaction, and waking the relay once it committed.
//!
//! Events can only be recorded through a [`Recorder`], and a recorder exists only inside
//! [`Outbox::transaction`], which wakes the relay after the commit. Forgetting the wake-up, which
//! would delay publication to the relay's next poll, is therefore impossible.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::routing::{self, Service};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, TransactionManager as _};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::Cause;
use crate::schema::outbox_events;

/// Rows per INSERT statement when many events are recorded at once (PostgreSQL allows 65,535
/// bind parameters per statement; a row takes 7).
const INSERT_CHUNK_ROWS: usize = 5_000;

/// Why an event could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The event's type has no route in `ates_contracts::routing`: a programming error.
    #[error("event type {0} has no route")]
    UnroutedEventType(String),
    /// The event's producer is not the service recording it: a programming error.
    #[error("event type {event_type} is produced by {expected}, not by {actual}")]
    WrongProducer {
        /// The event type.
        event_type: String,
        /// Its producer according to the routing table.
        expected: &'static str,
        /// The service that tried to record it.
        actual: &'static str,
    },
    /// The database refused the insert (the caller's transaction is then aborted).
    #[error(transparent)]
    Database(#[from] ates_storage::DbError),
}

impl From<diesel::result::Error> for OutboxError {
    fn from(error: diesel::result::Error) -> Self {
        OutboxError::Database(error.into())
    }
}

/// A service's outbox: where it records the events of a transaction.
#[derive(Debug, Clone)]
pub struct Outbox {
    producer: Service,
    committed: Arc<Notify>,
}

/// The work of one transaction: `async |conn, events| { ... }`. Implemented by every such async
/// closure; named so that [`Outbox::transaction`] can require its future to be `Send`.
#[doc(hidden)]
pub trait TransactionWork<'r, R>:
    AsyncFnOnce(&'r mut AsyncPgConnection, &'r Recorder) -> R
    + FnOnce(&'r mut AsyncPgConnection, &'r Recorder) -> <Self as TransactionWork<'r, R>>::Fut
{
    /// The future the work returns.
    type Fut: Future<Output = R>;
}

impl<'r, F, Fut, R> TransactionWork<'r, R> for F
where
    F: AsyncFnOnce(&'r mut AsyncPgConnection, &'r Recorder) -> R
        + FnOnce(&'r mut AsyncPgConnection, &'r Recorder) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

impl Outbox {
    /// The outbox of `producer`.
    pub fn new(producer: Service) -> Self {
        Self {
            producer,
            committed: Arc::new(Notify::new()),
        }
    }

    /// The service whose outbox this is.
    pub fn producer(&self) -> Service {
        self.producer
    }

    /// Runs `work` in one transaction on `conn`, handing it a [`Recorder`] for the events of the
    /// change. Events recorded there are published only if the transaction commits; after a
    /// commit that recorded any, the relay is woken at once.
    pub async fn transaction<R, E, F>(&self, conn: &mut AsyncPgConnection, work: F) -> Result<R, E>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection, &'r Recorder) -> Result<R, E>
            + TransactionWork<'r, Result<R, E>, Fut: Send>
            + Send,
        E: From<diesel::result::Error> + Send,
        R: Send,
    {
        // The wake-up below must follow the real commit, not a savepoint's release.
        debug_assert!(
            matches!(
                <AsyncPgConnection as AsyncConnection>::TransactionManager::transaction_manager_status_mut(conn)
                    .transaction_depth(),
                Ok(None)
            ),
            "Outbox::transaction inside another transaction"
        );
        let recorder = Recorder {
            outbox: self.clone(),
            recorded: AtomicBool::new(false),
        };
        let events = &recorder;
        let result = conn
            .transaction::<R, E, _>(async move |conn| work(conn, events).await)
            .await;
        if result.is_ok() && AtomicBool::load(&recorder.recorded, Ordering::Acquire) {
            self.committed.notify_one();
        }
        result
    }

    pub(crate) fn committed_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }
}

/// Records events in the transaction of [`Outbox::transaction`] that handed it out.
#[derive(Debug)]
pub struct Recorder {
    outbox: Outbox,
    recorded: AtomicBool,
}

#[derive(Insertable)]
#[diesel(table_name = outbox_events)]
struct NewOutboxEvent {
    event_id: Uuid,
    event_type: String,
    exchange: String,
    routing_key: String,
    envelope: Vec<u8>,
    traceparent: String,
    tracestate: String,
}

impl Recorder {
    /// Records one event, continuing the trace of `cause` (in a gRPC operation
    /// `Cause::current()`; in an event handler the cause of the event that led to it), and
    /// returns its event id.
    pub async fn record<E>(
        &self,
        conn: &mut AsyncPgConnection,
        event: &E,
        occurred_at: DateTime<Utc>,
        cause: Cause,
    ) -> Result<Uuid, OutboxError>
    where
        E: prost::Message + prost::Name,
    {
        let ids = self.record_all(conn, [(event, occurred_at, cause)]).await?;
        Ok(ids[0])
    }

    /// Records many events, each with the cause whose trace it continues, in as few statements
    /// as possible; returns their event ids in order.
    pub async fn record_all<'e, E>(
        &self,
        conn: &mut AsyncPgConnection,
        events: impl IntoIterator<Item = (&'e E, DateTime<Utc>, Cause)>,
    ) -> Result<Vec<Uuid>, OutboxError>
    where
        E: prost::Message + prost::Name + 'e,
    {
        let rows = events
            .into_iter()
            .map(|(event, occurred_at, cause)| self.new_row(event, occurred_at, &cause))
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in rows.chunks(INSERT_CHUNK_ROWS) {
            diesel::insert_into(outbox_events::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        if !rows.is_empty() {
            AtomicBool::store(&self.recorded, true, Ordering::Release);
        }
        Ok(rows.iter().map(|row| row.event_id).collect())
    }

    fn new_row<E>(
        &self,
        event: &E,
        occurred_at: DateTime<Utc>,
        cause: &Cause,
    ) -> Result<NewOutboxEvent, OutboxError>
    where
        E: prost::Message + prost::Name,
    {
        let producer = self.outbox.producer;
        let event_type = E::full_name();
        let route = routing::route_of(&event_type)
            .ok_or_else(|| OutboxError::UnroutedEventType(event_type.clone()))?;
        if route.producer != producer {
            return Err(OutboxError::WrongProducer {
                event_type,
                expected: route.producer.binary_name(),
                actual: producer.binary_name(),
            });
        }
        let event_id = Uuid::now_v7();
        let envelope = EventEnvelope {
            event_id: event_id.to_string(),
            event_type: event_type.clone(),
            occurred_at: Some(ates_contracts::time::timestamp(occurred_at)),
            producer: producer.binary_name().to_owned(),
            traceparent: cause.traceparent().to_owned(),
            tracestate: cause.tracestate().to_owned(),
            payload: event.encode_to_vec(),
        };
        Ok(NewOutboxEvent {
            event_id,
            event_type,
            exchange: route.exchange.to_owned(),
            routing_key: route.routing_key().to_owned(),
            envelope: prost::Message::encode_to_vec(&envelope),
            traceparent: cause.traceparent().to_owned(),
            tracestate: cause.tracestate().to_owned(),
        })
    }
}
