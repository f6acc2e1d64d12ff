//! The request_keys table: idempotency keys and the results they stand for.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::request_keys;

/// A key as the first call left it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = request_keys)]
pub struct RequestKeyRow {
    /// The method that used the key.
    pub method: String,
    /// What that call asked for.
    pub fingerprint: String,
    /// The task or reshuffle it produced.
    pub result_id: Option<Uuid>,
    /// For a reshuffle, how many tasks it reassigned.
    pub result_count: Option<i64>,
}

/// Claims `request_id` for this caller. `None`: the key is new and now held by this transaction
/// (a concurrent call with the same key waits for it). `Some`: an earlier, committed call used it.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    caller: Uuid,
    request_id: Uuid,
    method: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<RequestKeyRow>> {
    // A key found taken but gone by the time it is read was pruned in between: claim again.
    loop {
        let inserted = diesel::insert_into(request_keys::table)
            .values((
                request_keys::caller_id.eq(caller),
                request_keys::request_id.eq(request_id),
                request_keys::method.eq(method),
                request_keys::fingerprint.eq(fingerprint),
                request_keys::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 1 {
            return Ok(None);
        }
        let first = request_keys::table
            .find((caller, request_id))
            .select(RequestKeyRow::as_select())
            .first(conn)
            .await
            .optional()?;
        if first.is_some() {
            return Ok(first);
        }
    }
}

/// Records what the call holding the key produced.
pub async fn record_result(
    conn: &mut AsyncPgConnection,
    caller: Uuid,
    request_id: Uuid,
    result_id: Uuid,
    result_count: Option<i64>,
) -> QueryResult<()> {
    diesel::update(request_keys::table.find((caller, request_id)))
        .set((
            request_keys::result_id.eq(result_id),
            request_keys::result_count.eq(result_count),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
