//! The schema v2 backfill: every task that has no title yet gets the one its description says
//! (`[UBERPOP-42] Fix the button` is jira id `UBERPOP-42`, title `Fix the button`), and every
//! task whose title the consumers have not been sent at its current revision is announced with a
//! v2 `TaskDetailsUpdated`, so that accounting's and analytics' copies show titles too.
//!
//! It works in batches, each its own short transaction: lock up to N unannounced rows
//! (`FOR UPDATE SKIP LOCKED`, so replicas share the work and API calls wait for one batch at
//! most), store the derived titles, record the events, mark the rows announced, commit. It is
//! safe to stop at any moment and to run again: a committed batch is done, an uncommitted one is
//! picked up by the next round. The description itself is never changed, so nothing written
//! before is lost.
//!
//! It runs only while the tracker publishes v2: under v1 nobody could be told the titles.

use std::time::Duration;

use ates_messaging::{DbPool, Outbox};
use tokio_util::sync::CancellationToken;

use crate::domain::Details;
use crate::error::TrackerError;
use crate::events::outbound::TaskEvents;
use crate::storage::tasks::{self, TaskRow};

/// The backfill over the tracker's pool and outbox.
#[derive(Clone)]
pub struct Backfill {
    pool: DbPool,
    outbox: Outbox,
    batch_size: i64,
}

impl std::fmt::Debug for Backfill {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Backfill")
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl Backfill {
    /// Batches of at most `batch_size` tasks.
    pub fn new(pool: DbPool, outbox: Outbox, batch_size: usize) -> Self {
        Self {
            pool,
            outbox,
            batch_size: i64::try_from(batch_size.max(1)).unwrap_or(i64::MAX),
        }
    }

    /// One batch: how many tasks it announced (0 when nothing is left that no other replica
    /// holds).
    pub async fn batch(&self) -> Result<usize, TrackerError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let limit = self.batch_size;
        self.outbox
            .transaction(&mut conn, async |conn, events| {
                let rows = tasks::lock_unannounced(conn, limit).await?;
                if rows.is_empty() {
                    return Ok::<_, TrackerError>(0);
                }
                let details: Vec<Details> = rows.iter().map(TaskRow::details).collect();
                let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                let titles: Vec<String> = details.iter().map(|d| d.title.clone()).collect();
                let jira_ids: Vec<Option<String>> =
                    details.iter().map(|d| d.jira_id.clone()).collect();
                tasks::store_announced(conn, &ids, &titles, &jira_ids).await?;
                TaskEvents::details_announced(conn, events, &rows).await?;
                Ok(rows.len())
            })
            .await
    }

    /// Batches until none is left; how many tasks were announced.
    pub async fn run_to_end(&self, shutdown: &CancellationToken) -> Result<usize, TrackerError> {
        let mut total = 0;
        while !shutdown.is_cancelled() {
            let done = self.batch().await?;
            total += done;
            if done == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// The worker: runs to the end, rests `interval`, and again, until shutdown.
    pub async fn work(
        &self,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> Result<(), TrackerError> {
        loop {
            let announced = self.run_to_end(&shutdown).await?;
            if announced > 0 {
                tracing::info!(tasks = announced, "task titles backfilled and announced");
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
