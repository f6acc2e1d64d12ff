//! Payouts made: one per account and business date at most.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A payout as stored.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PayoutRow {
    /// Its id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub payout_id: Uuid,
    /// The paid account.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub account_id: Uuid,
    /// The closed date.
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    /// The amount, in cents.
    #[diesel(sql_type = BigInt)]
    pub amount_cents: i64,
    /// When it was made.
    #[diesel(sql_type = Timestamptz)]
    pub paid_at: DateTime<Utc>,
}

/// A payout with where its e-mail is.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PayoutView {
    /// The payout.
    #[diesel(embed)]
    pub payout: PayoutRow,
    /// `pending`, `sent` or `failed`.
    #[diesel(sql_type = Text)]
    pub email_status: String,
    /// Whether payouts knows the account's address.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub address_known: bool,
    /// The mail server's last refusal.
    #[diesel(sql_type = Nullable<Text>)]
    pub email_error: Option<String>,
}

/// An account's balance through a date, as far as payouts knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Balance {
    /// The account.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub account_id: Uuid,
    /// Fees and rewards of every date up to and including the date, in cents.
    #[diesel(sql_type = BigInt)]
    pub earned_through_cents: i64,
    /// Everything paid to it at earlier closes, in cents.
    #[diesel(sql_type = BigInt)]
    pub paid_before_cents: i64,
}

/// Every account that earned anything through `date` and was not paid for `date` yet, with its
/// balance through `date`, in account order.
pub async fn unpaid_balances(
    conn: &mut AsyncPgConnection,
    date: NaiveDate,
) -> QueryResult<Vec<Balance>> {
    diesel::sql_query(
        "WITH earned AS (SELECT account_id, sum(earned_cents) AS cents FROM daily_earnings \
                         WHERE business_date <= $1 GROUP BY account_id), \
              paid AS (SELECT account_id, sum(amount_cents) AS cents FROM payouts \
                       WHERE business_date < $1 GROUP BY account_id) \
         SELECT earned.account_id, earned.cents::bigint AS earned_through_cents, \
                COALESCE(paid.cents, 0)::bigint AS paid_before_cents \
         FROM earned LEFT JOIN paid USING (account_id) \
         WHERE NOT EXISTS (SELECT 1 FROM payouts p WHERE p.account_id = earned.account_id AND p.business_date = $1) \
         ORDER BY earned.account_id",
    )
    .bind::<Date, _>(date)
    .load(conn)
    .await
}

/// Inserts the payouts that are not made yet (one per account and date) and returns those it
/// made; a payout for an account and date that exists already is left as it is.
pub async fn insert_new(
    conn: &mut AsyncPgConnection,
    date: NaiveDate,
    due: &[(Uuid, i64)],
    paid_at: DateTime<Utc>,
) -> QueryResult<Vec<PayoutRow>> {
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = due.iter().map(|_| Uuid::now_v7()).collect();
    let accounts: Vec<Uuid> = due.iter().map(|(account, _)| *account).collect();
    let amounts: Vec<i64> = due.iter().map(|(_, amount)| *amount).collect();
    diesel::sql_query(
        "INSERT INTO payouts (payout_id, account_id, business_date, amount_cents, paid_at) \
         SELECT id, account_id, $4, amount_cents, $5 \
         FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS due (id, account_id, amount_cents) \
         ON CONFLICT (account_id, business_date) DO NOTHING \
         RETURNING payout_id, account_id, business_date, amount_cents, paid_at",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(&accounts)
    .bind::<Array<BigInt>, _>(&amounts)
    .bind::<Date, _>(date)
    .bind::<Timestamptz, _>(paid_at)
    .load(conn)
    .await
}

/// A page of `date`'s payouts in account order, after account `after`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    date: NaiveDate,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<PayoutView>> {
    diesel::sql_query(
        "SELECT p.payout_id, p.account_id, p.business_date, p.amount_cents, p.paid_at, \
                e.status AS email_status, (a.email IS NOT NULL) AS address_known, \
                e.last_error AS email_error \
         FROM payouts p JOIN emails e USING (payout_id) \
         LEFT JOIN accounts a ON a.account_id = p.account_id \
         WHERE p.business_date = $1 AND ($2::uuid IS NULL OR p.account_id > $2) \
         ORDER BY p.account_id LIMIT $3",
    )
    .bind::<Date, _>(date)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The payout of `account` for `date`, if it was made.
pub async fn of_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    date: NaiveDate,
) -> QueryResult<Option<PayoutRow>> {
    diesel::sql_query(
        "SELECT payout_id, account_id, business_date, amount_cents, paid_at FROM payouts \
         WHERE account_id = $1 AND business_date = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .bind::<Date, _>(date)
    .get_result(conn)
    .await
    .optional()
}
