//! What each account earned on each business date, as accounting last told.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// One account's earnings of one date at a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayEarned {
    /// The account.
    pub account_id: Uuid,
    /// The business date.
    pub business_date: NaiveDate,
    /// Fees and rewards of that date, in cents.
    pub earned_cents: i64,
    /// How many fee and reward entries that covers; only grows.
    pub revision: i64,
}

/// Records each `(account, date)` total unless a higher revision is known, in one statement.
pub async fn record(conn: &mut AsyncPgConnection, days: &[DayEarned]) -> diesel::QueryResult<()> {
    let mut newest: BTreeMap<(Uuid, NaiveDate), DayEarned> = BTreeMap::new();
    for day in days {
        let key = (day.account_id, day.business_date);
        if newest
            .get(&key)
            .is_none_or(|known| known.revision < day.revision)
        {
            newest.insert(key, *day);
        }
    }
    if newest.is_empty() {
        return Ok(());
    }
    let accounts: Vec<Uuid> = newest.keys().map(|(account, _)| *account).collect();
    let dates: Vec<NaiveDate> = newest.keys().map(|(_, date)| *date).collect();
    let cents: Vec<i64> = newest.values().map(|day| day.earned_cents).collect();
    let revisions: Vec<i64> = newest.values().map(|day| day.revision).collect();
    diesel::sql_query(
        "INSERT INTO daily_earnings (account_id, business_date, earned_cents, revision) \
         SELECT * FROM unnest($1::uuid[], $2::date[], $3::bigint[], $4::bigint[]) \
         ON CONFLICT (account_id, business_date) DO UPDATE SET \
         earned_cents = excluded.earned_cents, revision = excluded.revision \
         WHERE daily_earnings.revision < excluded.revision",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&accounts)
    .bind::<Array<Date>, _>(&dates)
    .bind::<Array<BigInt>, _>(&cents)
    .bind::<Array<BigInt>, _>(&revisions)
    .execute(conn)
    .await
    .map(drop)
}

/// The earliest date anything was earned on.
pub async fn first_date(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<NaiveDate>> {
    #[derive(diesel::QueryableByName)]
    struct First {
        #[diesel(sql_type = diesel::sql_types::Nullable<Date>)]
        date: Option<NaiveDate>,
    }
    let first: First = diesel::sql_query("SELECT min(business_date) AS date FROM daily_earnings")
        .get_result(conn)
        .await?;
    Ok(first.date)
}
