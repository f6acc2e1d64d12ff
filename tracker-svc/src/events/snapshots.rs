//! The state the tracker sends again for a resync: every task with its current details and
//! prices (stream "tasks"), in the schema version the tracker publishes.

use ates_messaging::snapshot::{SnapshotPosition, SnapshotSource};
use ates_messaging::{OutboxError, Recorder};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;

use crate::events::outbound::TaskEvents;
use crate::storage::tasks;

/// The tracker's snapshot: tasks, oldest first (the cursor is the internal row id).
#[derive(Debug, Clone, Copy)]
pub struct TaskSnapshots {
    /// The version its batches are recorded in.
    pub events: TaskEvents,
}

impl SnapshotSource for TaskSnapshots {
    fn streams(&self) -> &'static [&'static str] {
        &["tasks"]
    }

    fn record_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a Recorder,
        position: &'a SnapshotPosition,
    ) -> BoxFuture<'a, Result<Option<String>, OutboxError>> {
        Box::pin(async move {
            let rows = tasks::oldest_after(conn, position.after_as(), position.fetch()).await?;
            self.events.snapshot(conn, events, position, rows).await
        })
    }
}
