//! Answering a resync: a producer sends its current state again, as snapshot events.
//!
//! A consumer that lost its copy of other services' state, or never had it, records
//! `ates.analytics.events.v1.ResyncRequested`. Each producer reads it with the handler of
//! [`Snapshots::handler`], which stores one job per stream the producer sends, in the consumer's
//! transaction (a redelivered request finds its jobs there and adds none). [`Snapshots::run`]
//! then sends each stream a batch at a time: in one transaction it locks a job, has the
//! [`SnapshotSource`] read the batch after the job's cursor and record it as one event, and moves
//! the cursor. A crash loses no batch and sends none twice, because the batch's event and the
//! cursor commit together; replicas share the jobs (`FOR UPDATE SKIP LOCKED`). While the outbox
//! holds more than [`OUTBOX_HIGH_WATER`] events the sender waits, so that a snapshot of millions of
//! rows does not flood the outbox: the service's own events wait behind a few dozen snapshot events
//! at most (each replica counts them in the batch's transaction before it adds the batch, so each
//! may add one batch beyond the mark). The outbox is counted only while a job waits, and only up
//! to the mark.
//!
//! Changes committed while a stream is being read reach the consumer as ordinary events: a row
//! changed behind the cursor is in that change's event, a row changed ahead of it is in a later
//! batch. Snapshot items are states merged by identity and revision (see
//! `ates.events.v1.SnapshotBatch`), so the consumer ends in the producer's state whatever the
//! interleaving.

use std::sync::Arc;
use std::time::Duration;

use ates_contracts::ates::analytics::events::v1::ResyncRequested;
use ates_contracts::ates::events::v1::SnapshotBatch;
use ates_storage::DbPool;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::envelope::{Cause, Received};
use crate::handler::{Accepts, Handler, HandlerError, QueueHandler, Reads, field_uuid, subscriber};
use crate::outbox::{Outbox, OutboxError, Recorder};
use crate::schema::snapshot_jobs;
use crate::session::sleep_or_shutdown;

/// The most events the outbox may hold before a snapshot sender waits for the relay.
pub const OUTBOX_HIGH_WATER: i64 = 64;

/// How long an idle sender waits before it looks for jobs again (another replica's consumer may
/// have stored them).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// The state a service sends for a resync, one stream at a time.
pub trait SnapshotSource: Send + Sync + 'static {
    /// The streams this service sends, e.g. `&["bills", "audit-log"]`.
    fn streams(&self) -> &'static [&'static str];

    /// Reads the batch of `position.stream()` that follows `position.after_as()` (up to
    /// `position.fetch()` rows in key order) and hands it to [`SnapshotPosition::record`], which
    /// records it as one snapshot event and returns where the next batch starts, or `None` when
    /// this batch was the stream's last.
    fn record_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a Recorder,
        position: &'a SnapshotPosition,
    ) -> BoxFuture<'a, Result<Option<String>, OutboxError>>;
}

/// Where a stream's next batch starts.
#[derive(Debug, Clone)]
pub struct SnapshotPosition {
    resync_id: Uuid,
    stream: String,
    index: u32,
    after: Option<String>,
    cause: Cause,
    limit: usize,
}

impl SnapshotPosition {
    /// The stream being sent.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The cursor read as the source's key type; `None` at the start. A cursor that does not read
    /// as `T` (left by another version of the source) is logged and the stream starts over from
    /// its first item: items sent twice merge like any redelivery, items skipped would be lost.
    pub fn after_as<T: std::str::FromStr>(&self) -> Option<T> {
        let cursor = self.after.as_deref()?;
        let parsed = cursor.parse().ok();
        if parsed.is_none() {
            tracing::warn!(
                resync_id = %self.resync_id,
                stream = %self.stream,
                cursor,
                "snapshot cursor unreadable: the stream starts over from its first item"
            );
        }
        parsed
    }

    /// How many rows to read: one more than a batch holds, which tells the last batch.
    pub fn fetch(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX - 1) + 1
    }

    /// Records `rows` (read after the cursor, at most [`fetch`](Self::fetch) of them) as the
    /// stream's next batch, the event built by `event` from the batch's place and its items, and
    /// returns the cursor after it: `key` of its last row, or `None` when it was the last batch.
    pub async fn record<R, E>(
        &self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        mut rows: Vec<R>,
        event: impl FnOnce(SnapshotBatch, &[R]) -> E,
        key: impl FnOnce(&R) -> String,
    ) -> Result<Option<String>, OutboxError>
    where
        E: prost::Message + prost::Name,
    {
        let last = split_batch(&mut rows, self.limit);
        let message = event(self.batch(last), &rows);
        events
            .record(conn, &message, Utc::now(), self.cause())
            .await?;
        Ok(if last { None } else { rows.last().map(key) })
    }

    /// The trace of the request: every batch continues it.
    pub fn cause(&self) -> Cause {
        self.cause.clone()
    }

    /// The batch's place, for the event the source records.
    pub fn batch(&self, last: bool) -> SnapshotBatch {
        SnapshotBatch {
            resync_id: self.resync_id.to_string(),
            stream: self.stream.clone(),
            index: self.index,
            last,
        }
    }
}

/// Given up to `limit + 1` rows read after the cursor, keeps the first `limit` and says whether
/// this is the stream's last batch (no row beyond them).
fn split_batch<T>(rows: &mut Vec<T>, limit: usize) -> bool {
    if rows.len() > limit {
        rows.truncate(limit);
        false
    } else {
        true
    }
}

/// A producer's side of resyncs: the handler that takes requests and the sender of batches.
pub struct Snapshots<S: SnapshotSource> {
    pool: DbPool,
    outbox: Outbox,
    source: Arc<S>,
    batch_size: usize,
    wake: Arc<Notify>,
}

impl<S: SnapshotSource> Clone for Snapshots<S> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            outbox: self.outbox.clone(),
            source: Arc::clone(&self.source),
            batch_size: self.batch_size,
            wake: Arc::clone(&self.wake),
        }
    }
}

impl<S: SnapshotSource> std::fmt::Debug for Snapshots<S> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Snapshots")
            .field("streams", &self.source.streams())
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Queryable)]
struct Job {
    resync_id: Uuid,
    stream: String,
    next_index: i32,
    cursor: Option<String>,
    traceparent: String,
    tracestate: String,
}

impl<S: SnapshotSource> Snapshots<S> {
    /// Sends `source`'s streams in batches of `batch_size` items.
    pub fn new(pool: DbPool, outbox: Outbox, source: S, batch_size: usize) -> Self {
        Self {
            pool,
            outbox,
            source: Arc::new(source),
            batch_size: batch_size.max(1),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The handler of `ResyncRequested`: one job per stream and request.
    pub fn handler(&self) -> Arc<dyn QueueHandler> {
        subscriber(ResyncHandler {
            streams: self.source.streams(),
            wake: Arc::clone(&self.wake),
        })
    }

    /// Sends batches while there are jobs, until shutdown.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), OutboxError> {
        while !shutdown.is_cancelled() {
            match self.send_next().await? {
                Sent::Batch => continue,
                Sent::OutboxFull => {
                    sleep_or_shutdown(Duration::from_millis(50), &shutdown).await;
                    continue;
                }
                Sent::NoJob => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
        Ok(())
    }

    /// Sends the next batch of one unfinished job; false when there is none (or the outbox is
    /// too full to take one now).
    pub async fn send_one_batch(&self) -> Result<bool, OutboxError> {
        Ok(self.send_next().await? == Sent::Batch)
    }

    /// Sends the next batch of one unfinished job, unless there is none or the outbox holds more
    /// than [`OUTBOX_HIGH_WATER`] events. The outbox is counted only when a job waits, and only up
    /// to the mark: an idle service, or one with a long backlog, pays nothing for the check.
    async fn send_next(&self) -> Result<Sent, OutboxError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let source = Arc::clone(&self.source);
        let limit = self.batch_size;
        self.outbox
            .transaction(&mut conn, async move |conn, events| {
                let job: Option<Job> = snapshot_jobs::table
                    .filter(snapshot_jobs::finished_at.is_null())
                    .order((snapshot_jobs::requested_at, snapshot_jobs::stream))
                    .select((
                        snapshot_jobs::resync_id,
                        snapshot_jobs::stream,
                        snapshot_jobs::next_index,
                        snapshot_jobs::cursor,
                        snapshot_jobs::traceparent,
                        snapshot_jobs::tracestate,
                    ))
                    .for_update()
                    .skip_locked()
                    .first(conn)
                    .await
                    .optional()?;
                let Some(job) = job else {
                    return Ok(Sent::NoJob);
                };
                #[derive(QueryableByName)]
                struct Waiting {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                let waiting = diesel::sql_query(
                    "SELECT count(*) AS n FROM (SELECT 1 FROM outbox_events LIMIT $1) AS waiting",
                )
                .bind::<diesel::sql_types::BigInt, _>(OUTBOX_HIGH_WATER + 1)
                .get_result::<Waiting>(conn)
                .await?;
                if waiting.n > OUTBOX_HIGH_WATER {
                    return Ok(Sent::OutboxFull);
                }
                let position = SnapshotPosition {
                    resync_id: job.resync_id,
                    stream: job.stream.clone(),
                    index: u32::try_from(job.next_index).unwrap_or(u32::MAX),
                    after: job.cursor,
                    cause: Cause::from_parts(job.traceparent, job.tracestate),
                    limit,
                };
                let next = source.record_batch(conn, events, &position).await?;
                let this_job = snapshot_jobs::table
                    .filter(snapshot_jobs::resync_id.eq(job.resync_id))
                    .filter(snapshot_jobs::stream.eq(&job.stream));
                match next {
                    Some(cursor) => {
                        diesel::update(this_job)
                            .set((
                                snapshot_jobs::next_index.eq(job.next_index + 1),
                                snapshot_jobs::cursor.eq(cursor),
                            ))
                            .execute(conn)
                            .await?;
                    }
                    None => {
                        diesel::update(this_job)
                            .set((
                                snapshot_jobs::next_index.eq(job.next_index + 1),
                                snapshot_jobs::finished_at.eq(Utc::now()),
                            ))
                            .execute(conn)
                            .await?;
                        tracing::info!(
                            resync_id = %job.resync_id,
                            stream = %job.stream,
                            batches = job.next_index + 1,
                            "snapshot sent"
                        );
                    }
                }
                Ok::<Sent, OutboxError>(Sent::Batch)
            })
            .await
    }
}

/// What one round of the snapshot sender did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Batch,
    NoJob,
    OutboxFull,
}

/// Stores one snapshot job per stream for each resync request.
struct ResyncHandler {
    streams: &'static [&'static str],
    wake: Arc<Notify>,
}

/// A request as the handler read it.
#[derive(Debug)]
struct Request {
    resync_id: Uuid,
    requested_at: DateTime<Utc>,
    cause: Cause,
}

impl Handler for ResyncHandler {
    type Batch = Vec<Request>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts.on::<ResyncRequested>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        requests: Vec<Request>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let rows: Vec<_> = requests
                .iter()
                .flat_map(|request| {
                    self.streams.iter().map(move |stream| {
                        (
                            snapshot_jobs::resync_id.eq(request.resync_id),
                            snapshot_jobs::stream.eq(*stream),
                            snapshot_jobs::traceparent.eq(request.cause.traceparent()),
                            snapshot_jobs::tracestate.eq(request.cause.tracestate()),
                            snapshot_jobs::requested_at.eq(request.requested_at),
                        )
                    })
                })
                .collect();
            diesel::insert_into(snapshot_jobs::table)
                .values(rows)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            // The sender looks again at once; should this transaction not have committed yet,
            // it finds the jobs at its next poll.
            self.wake.notify_one();
            Ok(())
        })
    }
}

impl Reads<ResyncRequested> for ResyncHandler {
    fn read(
        &self,
        requests: &mut Vec<Request>,
        event: Received<ResyncRequested>,
    ) -> Result<(), HandlerError> {
        let message = event.message;
        let requested_at = message
            .requested_at
            .and_then(|at| ates_contracts::time::instant(&at))
            .unwrap_or(event.occurred_at);
        requests.push(Request {
            resync_id: field_uuid("resync_id", &message.resync_id)?,
            requested_at,
            cause: event.cause,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Cause, SnapshotPosition, Uuid, split_batch};

    fn at(after: Option<&str>) -> SnapshotPosition {
        SnapshotPosition {
            resync_id: Uuid::new_v4(),
            stream: "tasks".to_owned(),
            index: 4,
            after: after.map(str::to_owned),
            cause: Cause::default(),
            limit: 2,
        }
    }

    #[test]
    fn a_cursor_reads_as_the_key_and_one_that_does_not_starts_the_stream_over() {
        assert_eq!(at(None).after_as::<i64>(), None);
        assert_eq!(at(Some("42")).after_as::<i64>(), Some(42));
        let id = Uuid::new_v4();
        assert_eq!(at(Some(&id.to_string())).after_as::<Uuid>(), Some(id));
        assert_eq!(at(Some("4x2")).after_as::<i64>(), None);
        assert_eq!(at(None).fetch(), 3);
    }

    #[test]
    fn a_batch_is_the_last_when_no_row_follows_the_limit() {
        let mut rows = vec![1, 2, 3];
        assert!(!split_batch(&mut rows, 2));
        assert_eq!(rows, [1, 2]);
        let mut rows = vec![1, 2];
        assert!(split_batch(&mut rows, 2));
        assert_eq!(rows, [1, 2]);
        let mut rows: Vec<i32> = Vec::new();
        assert!(split_batch(&mut rows, 2));
    }
}
