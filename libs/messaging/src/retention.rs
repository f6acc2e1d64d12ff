//! Pruning of rows kept only for a while: inbox ids past their retention period.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::DbPool;

/// Why pruning stopped.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(String),
    /// A statement failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// The retention period is longer than the calendar.
    #[error("the retention period is too long")]
    RetentionTooLong,
}

/// Most rows one pruning statement deletes, so that no statement holds locks for long.
pub const PRUNE_BATCH: i64 = 10_000;

/// Deletes, a batch per statement, the rows of `table` whose `column` is before `cutoff`.
/// Returns how many went. `table` and `column` come from the program, never from input.
pub async fn prune_before(
    pool: &DbPool,
    table: &'static str,
    column: &'static str,
    cutoff: DateTime<Utc>,
) -> Result<u64, PruneError> {
    let mut conn = pool
        .get()
        .await
        .map_err(|error| PruneError::Pool(error.to_string()))?;
    let statement = format!(
        "DELETE FROM {table} WHERE ctid IN \
         (SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2)"
    );
    let mut pruned = 0_u64;
    loop {
        let deleted = diesel::sql_query(&statement)
            .bind::<Timestamptz, _>(cutoff)
            .bind::<BigInt, _>(PRUNE_BATCH)
            .execute(&mut conn)
            .await?;
        pruned += u64::try_from(deleted).unwrap_or(0);
        if i64::try_from(deleted).unwrap_or(0) < PRUNE_BATCH {
            return Ok(pruned);
        }
    }
}

/// `now - retention`, or an error when the retention reaches before the calendar begins.
pub fn cutoff(retention: std::time::Duration) -> Result<DateTime<Utc>, PruneError> {
    chrono::Duration::from_std(retention)
        .ok()
        .and_then(|retention| Utc::now().checked_sub_signed(retention))
        .ok_or(PruneError::RetentionTooLong)
}

/// The inbox table and its time column, for pruning. An event redelivered after its id is
/// gone would be applied again, so every handler must also be idempotent by business key (the
/// ledger's posting keys, revisions): the inbox is the fast path, not the only guard.
pub const INBOX_TABLE: &str = "inbox_events";
/// See [`INBOX_TABLE`].
pub const INBOX_TIME_COLUMN: &str = "applied_at";
