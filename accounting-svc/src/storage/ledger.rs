//! Postings, entries, balances and task descriptions.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{balances, ledger_entries, postings, tasks};
use crate::domain::Posting;

/// An employee's ledger entry as stored, with its task's current description.
#[derive(Debug, Clone, Queryable)]
pub struct EntryRow {
    /// Public id.
    pub public_id: Uuid,
    /// The employee.
    pub account_id: Option<Uuid>,
    /// The task, for fees and rewards.
    pub task_id: Option<Uuid>,
    /// Kind as stored.
    pub kind: String,
    /// Signed amount.
    pub amount_cents: i64,
    /// Business date.
    pub business_date: NaiveDate,
    /// When the fact happened.
    pub occurred_at: DateTime<Utc>,
    /// The task's description as accounting knows it.
    pub task_description: Option<String>,
}

/// A balance row.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct BalanceRow {
    /// The employee.
    pub account_id: Uuid,
    /// Sum of its entries.
    pub balance_cents: i64,
    /// Number of its entries.
    pub entry_count: i64,
    /// Time of the last entry.
    pub updated_at: DateTime<Utc>,
}

/// Records a posting unless its business key was posted before. Returns the employee entry's
/// public id when it posted, `None` when it was already there.
pub async fn post(conn: &mut AsyncPgConnection, posting: &Posting) -> QueryResult<Option<Uuid>> {
    let posting_id: Option<Uuid> = diesel::insert_into(postings::table)
        .values((
            postings::id.eq(Uuid::now_v7()),
            postings::business_key.eq(&posting.business_key),
            postings::kind.eq(posting.kind.as_str()),
        ))
        .on_conflict(postings::business_key)
        .do_nothing()
        .returning(postings::id)
        .get_result(conn)
        .await
        .optional()?;
    let Some(posting_id) = posting_id else {
        return Ok(None);
    };
    let employee_entry = Uuid::now_v7();
    let rows: Vec<_> = posting
        .legs
        .iter()
        .enumerate()
        .map(|(index, leg)| {
            (
                ledger_entries::public_id.eq(if index == 0 {
                    employee_entry
                } else {
                    Uuid::now_v7()
                }),
                ledger_entries::posting_id.eq(posting_id),
                ledger_entries::book.eq(leg.book.as_str()),
                ledger_entries::account_id.eq(leg.book.account()),
                ledger_entries::task_id.eq(posting.task_id),
                ledger_entries::kind.eq(posting.kind.as_str()),
                ledger_entries::amount_cents.eq(leg.amount_cents),
                ledger_entries::business_date.eq(posting.business_date),
                ledger_entries::occurred_at.eq(posting.occurred_at),
            )
        })
        .collect();
    diesel::insert_into(ledger_entries::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(Some(employee_entry))
}

/// Remembers a task's description: from an assignment only when none is known (revision 0), from
/// an update only when it is newer than the one known.
pub async fn remember_description(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    description: &str,
    revision: i64,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO tasks (task_id, description, description_revision) VALUES ($1, $2, $3) \
         ON CONFLICT (task_id) DO UPDATE SET description = excluded.description, \
         description_revision = excluded.description_revision \
         WHERE tasks.description_revision < excluded.description_revision",
    )
    .bind::<diesel::sql_types::Uuid, _>(task_id)
    .bind::<Text, _>(description)
    .bind::<BigInt, _>(revision)
    .execute(conn)
    .await
    .map(drop)
}

/// The balance of an account, if it has any entry.
pub async fn balance(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> QueryResult<Option<BalanceRow>> {
    balances::table
        .filter(balances::account_id.eq(account_id))
        .select((
            balances::account_id,
            balances::balance_cents,
            balances::entry_count,
            balances::updated_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Balances ordered by account, after `after`.
pub async fn balances_page(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<BalanceRow>> {
    let mut query = balances::table
        .select((
            balances::account_id,
            balances::balance_cents,
            balances::entry_count,
            balances::updated_at,
        ))
        .order(balances::account_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(balances::account_id.gt(after));
    }
    query.load(conn).await
}

/// How many accounts are negative now.
pub async fn negative_count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    balances::table
        .filter(balances::balance_cents.lt(0))
        .count()
        .get_result(conn)
        .await
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The sum of an account's entries before `date`.
pub async fn balance_before(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    date: NaiveDate,
) -> QueryResult<i64> {
    diesel::sql_query(
        "SELECT COALESCE(sum(amount_cents), 0)::bigint AS total FROM ledger_entries \
         WHERE book = 'employee' AND account_id = $1 AND business_date < $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .bind::<Date, _>(date)
    .get_result::<Sum>(conn)
    .await
    .map(|sum| sum.total)
}

/// The sum of an account's entries on `date`.
pub async fn sum_on(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    date: NaiveDate,
) -> QueryResult<i64> {
    diesel::sql_query(
        "SELECT COALESCE(sum(amount_cents), 0)::bigint AS total FROM ledger_entries \
         WHERE book = 'employee' AND account_id = $1 AND business_date = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .bind::<Date, _>(date)
    .get_result::<Sum>(conn)
    .await
    .map(|sum| sum.total)
}

/// An account's entries of one business date in the order they were recorded, after the entry
/// `after`, with their tasks' current descriptions.
pub async fn day_entries(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    date: NaiveDate,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let mut query = ledger_entries::table
        .left_join(tasks::table.on(tasks::task_id.nullable().eq(ledger_entries::task_id)))
        .filter(ledger_entries::book.eq("employee"))
        .filter(ledger_entries::account_id.eq(account_id))
        .filter(ledger_entries::business_date.eq(date))
        .select((
            ledger_entries::public_id,
            ledger_entries::account_id,
            ledger_entries::task_id,
            ledger_entries::kind,
            ledger_entries::amount_cents,
            ledger_entries::business_date,
            ledger_entries::occurred_at,
            tasks::description.nullable(),
        ))
        .order(ledger_entries::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        let after_id = ledger_entries::table
            .filter(ledger_entries::public_id.eq(after))
            .select(ledger_entries::id)
            .first::<i64>(conn)
            .await
            .optional()?
            .unwrap_or(i64::MAX);
        query = query.filter(ledger_entries::id.gt(after_id));
    }
    query.load(conn).await
}

/// Fees and rewards per business date of an inclusive range (dates without entries are absent).
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct DayTotals {
    /// The date.
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
    /// Sum of fees charged, positive.
    #[diesel(sql_type = BigInt)]
    pub fees_cents: i64,
    /// Sum of rewards credited, positive.
    #[diesel(sql_type = BigInt)]
    pub rewards_cents: i64,
}

/// Management's fees and rewards per day.
pub async fn day_totals(
    conn: &mut AsyncPgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DayTotals>> {
    diesel::sql_query(
        "SELECT business_date, \
            COALESCE(-sum(amount_cents) FILTER (WHERE kind = 'assignment_fee'), 0)::bigint AS fees_cents, \
            COALESCE(sum(amount_cents) FILTER (WHERE kind = 'completion_reward'), 0)::bigint AS rewards_cents \
         FROM ledger_entries WHERE book = 'employee' AND business_date BETWEEN $1 AND $2 \
         GROUP BY business_date ORDER BY business_date",
    )
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .await
}
