//! Which business dates are closed.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::closes;

/// The newest date whose close finished: every date up to it is closed.
pub async fn closed_through(conn: &mut AsyncPgConnection) -> QueryResult<Option<NaiveDate>> {
    closes::table
        .filter(closes::finished_at.is_not_null())
        .select(diesel::dsl::max(closes::business_date))
        .first(conn)
        .await
}

/// Records that the close of `date` began (again, after a crash: the first start stays).
pub async fn begin(
    conn: &mut AsyncPgConnection,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(closes::table)
        .values((closes::business_date.eq(date), closes::started_at.eq(now)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Records that the close of `date` finished, with what it paid in all.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE closes SET finished_at = $2, \
         payouts = (SELECT count(*) FROM payouts WHERE business_date = $1), \
         paid_cents = (SELECT COALESCE(sum(amount_cents), 0) FROM payouts WHERE business_date = $1) \
         WHERE business_date = $1",
    )
    .bind::<diesel::sql_types::Date, _>(date)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}
