//! The state auth sends again for a resync: every account with its role (stream "accounts").

use ates_messaging::snapshot::{SnapshotPosition, SnapshotSource};
use ates_messaging::{OutboxError, Recorder};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;

use crate::events::outbound;
use crate::storage::accounts;

/// auth's snapshot: accounts, oldest first (the cursor is the internal row id).
#[derive(Debug, Clone, Copy)]
pub struct AccountSnapshots;

impl SnapshotSource for AccountSnapshots {
    fn streams(&self) -> &'static [&'static str] {
        &["accounts"]
    }

    fn record_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a Recorder,
        position: &'a SnapshotPosition,
    ) -> BoxFuture<'a, Result<Option<String>, OutboxError>> {
        Box::pin(async move {
            let rows = accounts::page(conn, position.after_as(), position.fetch()).await?;
            position
                .record(conn, events, rows, outbound::accounts_snapshot, |row| {
                    row.id.to_string()
                })
                .await
        })
    }
}
