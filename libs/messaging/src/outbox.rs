//! Recording events in the producer's own transaction.

use std::sync::Arc;

use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::routing::{self, Service};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::Notify;
use uuid::Uuid;

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
    Database(#[from] diesel::result::Error),
}

/// A service's outbox: where it records the events of a transaction.
///
/// Record events with [`Outbox::record`] inside the transaction that makes the change, then call
/// [`Outbox::notify_committed`] after the commit so the relay wakes at once instead of at its
/// next poll.
#[derive(Debug, Clone)]
pub struct Outbox {
    producer: Service,
    committed: Arc<Notify>,
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

    /// Records one event in the caller's transaction and returns its event id. The event is
    /// published only if that transaction commits. The current span's trace context goes with it.
    pub async fn record<E>(
        &self,
        conn: &mut AsyncPgConnection,
        event: &E,
        occurred_at: DateTime<Utc>,
    ) -> Result<Uuid, OutboxError>
    where
        E: prost::Message + prost::Name,
    {
        let row = self.new_row(event, occurred_at)?;
        let event_id = row.event_id;
        diesel::insert_into(outbox_events::table)
            .values(&row)
            .execute(conn)
            .await?;
        Ok(event_id)
    }

    /// Records many events in the caller's transaction, in as few statements as possible, and
    /// returns their event ids in order.
    pub async fn record_all<'e, E>(
        &self,
        conn: &mut AsyncPgConnection,
        events: impl IntoIterator<Item = (&'e E, DateTime<Utc>)>,
    ) -> Result<Vec<Uuid>, OutboxError>
    where
        E: prost::Message + prost::Name + 'e,
    {
        let rows = events
            .into_iter()
            .map(|(event, occurred_at)| self.new_row(event, occurred_at))
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in rows.chunks(INSERT_CHUNK_ROWS) {
            diesel::insert_into(outbox_events::table)
                .values(chunk)
                .execute(conn)
                .await?;
        }
        Ok(rows.iter().map(|row| row.event_id).collect())
    }

    /// Wakes the relay: call it after a transaction that recorded events has committed.
    pub fn notify_committed(&self) {
        self.committed.notify_one();
    }

    pub(crate) fn committed_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }

    fn new_row<E>(
        &self,
        event: &E,
        occurred_at: DateTime<Utc>,
    ) -> Result<NewOutboxEvent, OutboxError>
    where
        E: prost::Message + prost::Name,
    {
        let event_type = E::full_name();
        let route = routing::route_of(&event_type)
            .ok_or_else(|| OutboxError::UnroutedEventType(event_type.clone()))?;
        if route.producer != self.producer {
            return Err(OutboxError::WrongProducer {
                event_type,
                expected: route.producer.binary_name(),
                actual: self.producer.binary_name(),
            });
        }
        let event_id = Uuid::now_v7();
        let (traceparent, tracestate) = ates_telemetry::current_trace_context();
        let envelope = EventEnvelope {
            event_id: event_id.to_string(),
            event_type: event_type.clone(),
            occurred_at: Some(ates_contracts::time::timestamp(occurred_at)),
            producer: self.producer.binary_name().to_owned(),
            traceparent: traceparent.clone(),
            tracestate: tracestate.clone(),
            payload: event.encode_to_vec(),
        };
        Ok(NewOutboxEvent {
            event_id,
            event_type,
            exchange: route.exchange.to_owned(),
            routing_key: route.routing_key().to_owned(),
            envelope: prost::Message::encode_to_vec(&envelope),
            traceparent,
            tracestate,
        })
    }
}
