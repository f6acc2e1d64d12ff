//! The state accounting sends again for a resync: every balance (stream "bills") and every
//! employee entry of the ledger (stream "audit-log").

use ates_messaging::snapshot::{SnapshotPosition, SnapshotSource};
use ates_messaging::{OutboxError, Recorder};
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
    ) -> BoxFuture<'a, Result<Option<String>, OutboxError>> {
        Box::pin(async move {
            match position.stream() {
                BILLS => {
                    let rows =
                        ledger::balances_page(conn, position.after_as(), position.fetch()).await?;
                    position
                        .record(conn, events, rows, outbound::bills_snapshot, |row| {
                            row.account_id.to_string()
                        })
                        .await
                }
                AUDIT_LOG => {
                    let rows =
                        ledger::employee_entries_after(conn, position.after_as(), position.fetch())
                            .await?;
                    position
                        .record(conn, events, rows, outbound::audit_log_snapshot, |row| {
                            row.id.to_string()
                        })
                        .await
                }
                other => {
                    // A job of a stream this version does not send (left by another version):
                    // finished without a batch, so that it does not hold up the jobs after it.
                    tracing::error!(stream = other, "no such snapshot stream: job dropped");
                    Ok(None)
                }
            }
        })
    }
}
