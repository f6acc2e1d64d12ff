//! The state accounting sends again for a resync: every balance (stream "bills") and every
//! employee entry of the ledger (stream "audit-log").

use ates_messaging::snapshot::{SnapshotPosition, SnapshotSource, split_batch};
use ates_messaging::{OutboxError, Recorder};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;

use crate::events::outbound;
use crate::storage::ledger;

/// Stream of balances, by account id (the cursor is the last account id).
const BILLS: &str = "bills";
/// Stream of entries, in the order they were recorded (the cursor is the internal row id).
const AUDIT_LOG: &str = "audit-log";

/// accounting's snapshot: balances and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct LedgerSnapshots;

impl SnapshotSource for LedgerSnapshots {
    fn streams(&self) -> &'static [&'static str] {
        &[BILLS, AUDIT_LOG]
    }

    fn record_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a Recorder,
        position: &'a SnapshotPosition,
        limit: usize,
    ) -> BoxFuture<'a, Result<Option<String>, OutboxError>> {
        Box::pin(async move {
            let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
            let now = Utc::now();
            if position.stream() == BILLS {
                let after = position.after().and_then(|cursor| cursor.parse().ok());
                let mut rows = ledger::balances_page(conn, after, fetch).await?;
                let last = split_batch(&mut rows, limit);
                let event = outbound::bills_snapshot(position.batch(last), &rows);
                events.record(conn, &event, now, position.cause()).await?;
                Ok(match rows.last() {
                    Some(row) if !last => Some(row.account_id.to_string()),
                    _ => None,
                })
            } else {
                let after = position.after().and_then(|cursor| cursor.parse().ok());
                let mut rows = ledger::employee_entries_after(conn, after, fetch).await?;
                let last = split_batch(&mut rows, limit);
                let event = outbound::audit_log_snapshot(position.batch(last), &rows);
                events.record(conn, &event, now, position.cause()).await?;
                Ok(match rows.last() {
                    Some(row) if !last => Some(row.id.to_string()),
                    _ => None,
                })
            }
        })
    }
}
