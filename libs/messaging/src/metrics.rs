//! What the relay and the consumers report: events published, consumed (by outcome) and parked
//! per type, the outbox's backlog, batch sizes and how far behind the consumers are.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ates_telemetry::metrics::{COUNT_BUCKETS, SECONDS_BUCKETS, meter};
use chrono::Utc;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use tokio_util::sync::CancellationToken;

use crate::DbPool;
use crate::batch::Action;
use crate::envelope::RawEvent;

/// How often the relay counts its outbox for `outbox.waiting` and `outbox.oldest.age`.
const OUTBOX_SAMPLE_INTERVAL: Duration = Duration::from_secs(10);

/// The most `outbox.waiting` counts: beyond it the gauge says "at least this many".
const OUTBOX_COUNT_LIMIT: i64 = 100_000;

/// The relay's instruments.
#[derive(Debug, Clone)]
pub(crate) struct RelayMetrics {
    published: Counter<u64>,
}

impl RelayMetrics {
    pub(crate) fn new() -> Self {
        Self {
            published: meter()
                .u64_counter("messaging.published")
                .with_description("Events the broker confirmed, by event type")
                .build(),
        }
    }

    pub(crate) fn published(&self, event_type: &str) {
        self.published
            .add(1, &[KeyValue::new("event_type", event_type.to_owned())]);
    }
}

/// The outbox as last counted: rows waiting and the age of the oldest, in seconds.
#[derive(Debug, Default, Clone, Copy)]
struct Backlog {
    waiting: i64,
    oldest_seconds: f64,
}

#[derive(QueryableByName)]
struct BacklogRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    waiting: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    oldest_seconds: f64,
}

/// The backlog as last counted.
fn read(backlog: &Mutex<Backlog>) -> Backlog {
    *backlog
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts the outbox every [`OUTBOX_SAMPLE_INTERVAL`] until `shutdown`, for the gauges
/// `outbox.waiting` (events not yet confirmed by the broker) and `outbox.oldest.age` (seconds
/// since the oldest of them was recorded; 0 when there is none).
pub(crate) async fn sample_outbox(pool: DbPool, shutdown: CancellationToken) {
    let backlog = Arc::new(Mutex::new(Backlog::default()));
    let meter = meter();
    let waiting = Arc::clone(&backlog);
    meter
        .i64_observable_gauge("outbox.waiting")
        .with_description(
            "Events in the outbox not yet confirmed by the broker (counted every 10 s)",
        )
        .with_callback(move |observer| observer.observe(read(&waiting).waiting, &[]))
        .build();
    let oldest = Arc::clone(&backlog);
    meter
        .f64_observable_gauge("outbox.oldest.age")
        .with_unit("s")
        .with_description(
            "Age of the oldest event in the outbox; 0 when it is empty (counted every 10 s)",
        )
        .with_callback(move |observer| observer.observe(read(&oldest).oldest_seconds, &[]))
        .build();
    while !shutdown.is_cancelled() {
        if let Ok(mut conn) = ates_storage::connection(&pool).await {
            // Bounded, so that a long backlog costs no more than the mark; the oldest row is the
            // first by id (ids follow insertion), found through the primary key.
            let sampled = diesel::sql_query(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox_events LIMIT $1) AS rows)::bigint AS waiting, \
                 COALESCE((SELECT extract(epoch FROM now() - recorded_at) FROM outbox_events \
                           ORDER BY id LIMIT 1), 0)::float8 AS oldest_seconds",
            )
            .bind::<diesel::sql_types::BigInt, _>(OUTBOX_COUNT_LIMIT)
            .get_result::<BacklogRow>(&mut conn)
            .await;
            if let Ok(row) = sampled {
                *backlog
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Backlog {
                    waiting: row.waiting,
                    oldest_seconds: row.oldest_seconds.max(0.0),
                };
            }
        }
        crate::session::sleep_or_shutdown(OUTBOX_SAMPLE_INTERVAL, &shutdown).await;
    }
}

/// A consumer's instruments.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerMetrics {
    consumed: Counter<u64>,
    batch_size: Histogram<u64>,
    lag: Histogram<f64>,
}

impl ConsumerMetrics {
    pub(crate) fn new() -> Self {
        let meter = meter();
        Self {
            consumed: meter
                .u64_counter("messaging.consumed")
                .with_description(
                    "Deliveries handled, by queue, event type and outcome (applied, duplicate, \
                     retried, parked: set aside in the dead-letter queue)",
                )
                .build(),
            batch_size: meter
                .u64_histogram("messaging.batch.size")
                .with_description("Deliveries taken together into one transaction, by queue")
                .with_boundaries(COUNT_BUCKETS.to_vec())
                .build(),
            lag: meter
                .f64_histogram("messaging.consumer.lag")
                .with_unit("s")
                .with_description(
                    "From an event's occurrence at its producer to its effect committing here, by \
                     queue",
                )
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build(),
        }
    }

    /// Records one committed batch: its size, what became of each delivery (`applied` marks the
    /// deliveries whose event took effect in it), and each applied event's lag.
    pub(crate) fn batch(
        &self,
        queue: &str,
        parsed: &[Result<RawEvent, String>],
        applied: &[bool],
        actions: &[Action],
    ) {
        let queue_label = KeyValue::new("queue", queue.to_owned());
        self.batch_size
            .record(parsed.len() as u64, std::slice::from_ref(&queue_label));
        let now = Utc::now();
        for ((event, applied), action) in parsed.iter().zip(applied).zip(actions) {
            let outcome = match (action, applied) {
                (Action::Ack, true) => "applied",
                (Action::Ack, false) => "duplicate",
                (Action::Requeue(_), _) => "retried",
                (Action::Park(_), _) => "parked",
            };
            // Only deliveries that parsed as an event the handler reads name their type: anything
            // else on the wire is one label, so a stray producer cannot grow the series.
            let event_type = match event {
                Ok(event) => event.event_type.clone(),
                Err(_) => "unreadable".to_owned(),
            };
            self.consumed.add(
                1,
                &[
                    queue_label.clone(),
                    KeyValue::new("event_type", event_type),
                    KeyValue::new("outcome", outcome),
                ],
            );
            if let (true, Ok(event)) = (applied, event) {
                let lag = (now - event.occurred_at).to_std().unwrap_or_default();
                self.lag
                    .record(lag.as_secs_f64(), std::slice::from_ref(&queue_label));
            }
        }
    }
}
