//! Pruning of rows kept only for a while (inbox ids, request keys) in bounded batches.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::{DbError, DbPool};

/// Why pruning stopped.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
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
    let mut conn = crate::connection(pool).await?;
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
            .await
            .map_err(DbError::from)?;
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
