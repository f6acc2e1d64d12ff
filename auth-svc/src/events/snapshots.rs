//! The state auth sends again for a resync: every account with its role (stream "accounts").

use ates_messaging::snapshot::{SnapshotPosition, SnapshotSource, split_batch};
use ates_messaging::{OutboxError, Recorder};
use chrono::Utc;
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
        limit: usize,
    ) -> BoxFuture<'a, Result<Option<String>, OutboxError>> {
        Box::pin(async move {
            let after = position.after().and_then(|cursor| cursor.parse().ok());
            let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
            let mut rows = accounts::page(conn, after, fetch).await?;
            let last = split_batch(&mut rows, limit);
            let event = outbound::accounts_snapshot(position.batch(last), &rows);
            events
                .record(conn, &event, Utc::now(), position.cause())
                .await?;
            Ok(match rows.last() {
                Some(row) if !last => Some(row.id.to_string()),
                _ => None,
            })
        })
    }
}
