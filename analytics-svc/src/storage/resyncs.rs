//! The resyncs analytics asked for and the snapshot batches that arrived for them.

use ates_contracts::routing;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{resync_batches, resyncs};
use crate::domain::{BatchSeen, STREAMS, Stream};

/// A stream's name in `SnapshotBatch.stream`, as its producer sends it.
pub const fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Accounts => routing::ACCOUNTS_STREAM,
        Stream::Tasks => routing::TASKS_STREAM,
        Stream::Bills => routing::BILLS_STREAM,
        Stream::AuditLog => routing::AUDIT_LOG_STREAM,
    }
}

/// The stream named `name`, if analytics waits for it.
pub fn parse_stream(name: &str) -> Option<Stream> {
    STREAMS
        .into_iter()
        .find(|stream| stream_name(*stream) == name)
}

/// A snapshot batch as it arrived, for one resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchReceipt {
    /// The resync it answers.
    pub resync_id: Uuid,
    /// Which batch.
    pub batch: BatchSeen,
}

/// Records a resync request.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    resync_id: Uuid,
    requested_at: DateTime<Utc>,
    wiped: bool,
) -> QueryResult<()> {
    diesel::insert_into(resyncs::table)
        .values((
            resyncs::resync_id.eq(resync_id),
            resyncs::requested_at.eq(requested_at),
            resyncs::wiped.eq(wiped),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Whether any resync was ever requested in this database.
pub async fn any(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        resyncs::table.select(resyncs::resync_id),
    ))
    .get_result(conn)
    .await
}

/// Records the batches that arrived (each once).
pub async fn record_batches(
    conn: &mut AsyncPgConnection,
    receipts: &[BatchReceipt],
) -> QueryResult<()> {
    if receipts.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = receipts
        .iter()
        .map(|receipt| {
            (
                resync_batches::resync_id.eq(receipt.resync_id),
                resync_batches::stream.eq(stream_name(receipt.batch.stream)),
                resync_batches::batch_index
                    .eq(i32::try_from(receipt.batch.index).unwrap_or(i32::MAX)),
                resync_batches::last.eq(receipt.batch.last),
            )
        })
        .collect();
    diesel::insert_into(resync_batches::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// The latest resync requested and the batches that arrived for it. "Latest" is the order the
/// requests were recorded in under [`lock_requests`], not their clocks: a wipe recorded after
/// another request is the latest even when its clock was read earlier.
pub async fn latest(conn: &mut AsyncPgConnection) -> QueryResult<Option<(Uuid, Vec<BatchSeen>)>> {
    let Some(resync_id) = resyncs::table
        .order(resyncs::position.desc())
        .select(resyncs::resync_id)
        .first::<Uuid>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let rows: Vec<(String, i32, bool)> = resync_batches::table
        .filter(resync_batches::resync_id.eq(resync_id))
        .select((
            resync_batches::stream,
            resync_batches::batch_index,
            resync_batches::last,
        ))
        .load(conn)
        .await?;
    let batches = rows
        .into_iter()
        .filter_map(|(stream, index, last)| {
            Some(BatchSeen {
                stream: parse_stream(&stream)?,
                index: u32::try_from(index).ok()?,
                last,
            })
        })
        .collect();
    Ok(Some((resync_id, batches)))
}

/// Empties every projection (not the record of resyncs).
pub async fn wipe_projections(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("TRUNCATE accounts, tasks, balances, entries, day_totals")
        .execute(conn)
        .await
        .map(drop)
}

/// Takes a transaction-scoped lock that serialises resync requests.
pub async fn lock_requests(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    // "analytics resync" as a number.
    const KEY: i64 = 0x0a7e_5e5c_0000_0001;
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(KEY)
        .execute(conn)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resync_waits_for_exactly_the_streams_producers_send() {
        let mut waited: Vec<&str> = STREAMS.iter().map(|stream| stream_name(*stream)).collect();
        let mut sent: Vec<&str> = routing::SNAPSHOT_STREAMS
            .iter()
            .map(|stream| stream.name)
            .collect();
        waited.sort_unstable();
        sent.sort_unstable();
        assert_eq!(waited, sent);
        for stream in STREAMS {
            assert_eq!(parse_stream(stream_name(stream)), Some(stream));
        }
        assert_eq!(parse_stream("payouts"), None);
    }
}
