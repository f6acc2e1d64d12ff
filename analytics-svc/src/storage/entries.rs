//! The employees' audit log, each entry once, with the fees and rewards of each business date;
//! completion rewards are the completed tasks the most expensive task is chosen from.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::day_totals;
use crate::domain::{Completion, DateRange, DayTotals};

/// Why money moved, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A fee debited on assignment (negative amount).
    AssignmentFee,
    /// A reward credited on completion (positive amount).
    CompletionReward,
    /// A payout at a close (negative amount).
    Payout,
}

impl EntryKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryKind::AssignmentFee => "assignment_fee",
            EntryKind::CompletionReward => "completion_reward",
            EntryKind::Payout => "payout",
        }
    }
}

/// One audit-log entry, from `AuditLogEntryCreated` or a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFact {
    /// The entry's public id.
    pub entry_id: Uuid,
    /// The employee.
    pub account_id: Uuid,
    /// The task, for fees and rewards.
    pub task_id: Option<Uuid>,
    /// Why money moved.
    pub kind: EntryKind,
    /// Signed amount in cents.
    pub amount_cents: i64,
    /// Its business date.
    pub business_date: NaiveDate,
    /// When the fact happened.
    pub occurred_at: DateTime<Utc>,
}

/// Records the entries not known yet and adds exactly those to their dates' totals, in one
/// statement: an entry heard twice (a redelivery, a snapshot of it) adds nothing the second time,
/// also when two transactions bring it at once (the second waits for the first's row). Dates are
/// updated in date order, so concurrent writers cannot deadlock.
pub async fn record(conn: &mut AsyncPgConnection, facts: &[EntryFact]) -> QueryResult<()> {
    let unique: BTreeMap<Uuid, &EntryFact> =
        facts.iter().map(|fact| (fact.entry_id, fact)).collect();
    if unique.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = unique.keys().copied().collect();
    let accounts: Vec<Uuid> = unique.values().map(|fact| fact.account_id).collect();
    let tasks: Vec<Option<Uuid>> = unique.values().map(|fact| fact.task_id).collect();
    let kinds: Vec<&str> = unique.values().map(|fact| fact.kind.as_str()).collect();
    let amounts: Vec<i64> = unique.values().map(|fact| fact.amount_cents).collect();
    let dates: Vec<NaiveDate> = unique.values().map(|fact| fact.business_date).collect();
    let times: Vec<DateTime<Utc>> = unique.values().map(|fact| fact.occurred_at).collect();
    diesel::sql_query(
        "WITH inserted AS ( \
             INSERT INTO entries (entry_id, account_id, task_id, kind, amount_cents, business_date, occurred_at) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::date[], $7::timestamptz[]) \
             ON CONFLICT (entry_id) DO NOTHING \
             RETURNING kind, amount_cents, business_date \
         ) \
         INSERT INTO day_totals (business_date, fees_cents, rewards_cents) \
         SELECT business_date, \
                COALESCE(sum(-amount_cents) FILTER (WHERE kind = 'assignment_fee'), 0), \
                COALESCE(sum(amount_cents) FILTER (WHERE kind = 'completion_reward'), 0) \
         FROM inserted WHERE kind <> 'payout' \
         GROUP BY business_date ORDER BY business_date \
         ON CONFLICT (business_date) DO UPDATE SET \
         fees_cents = day_totals.fees_cents + excluded.fees_cents, \
         rewards_cents = day_totals.rewards_cents + excluded.rewards_cents",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(&accounts)
    .bind::<Array<Nullable<diesel::sql_types::Uuid>>, _>(&tasks)
    .bind::<Array<Text>, _>(&kinds)
    .bind::<Array<BigInt>, _>(&amounts)
    .bind::<Array<Date>, _>(&dates)
    .bind::<Array<Timestamptz>, _>(&times)
    .execute(conn)
    .await
    .map(drop)
}

/// The fees and rewards of `date` (zero when nothing happened).
pub async fn day_totals(conn: &mut AsyncPgConnection, date: NaiveDate) -> QueryResult<DayTotals> {
    let totals: Option<(i64, i64)> = day_totals::table
        .filter(day_totals::business_date.eq(date))
        .select((day_totals::fees_cents, day_totals::rewards_cents))
        .first(conn)
        .await
        .optional()?;
    Ok(
        totals.map_or_else(DayTotals::default, |(fees_cents, rewards_cents)| {
            DayTotals {
                fees_cents,
                rewards_cents,
            }
        }),
    )
}

/// A date's most expensive completed task, with its description as last heard (empty when the
/// task itself was not heard of yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayWinner {
    /// The completion.
    pub completion: Completion,
    /// The task's description.
    pub description: String,
    /// The task's title; empty until a version 2 task event told it.
    pub title: String,
    /// The task's jira id; empty when it has none or no version 2 event told it.
    pub jira_id: String,
}

#[derive(QueryableByName)]
struct WinnerRow {
    #[diesel(sql_type = Date)]
    business_date: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    task_id: Uuid,
    #[diesel(sql_type = BigInt)]
    reward_cents: i64,
    #[diesel(sql_type = Timestamptz)]
    completed_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    jira_id: Option<String>,
}

/// The most expensive completed task of each date of `range` that has one, in date order: one
/// index probe per date (`entries_rewards` is ordered as `domain::ranks_above` ranks).
pub async fn day_winners(
    conn: &mut AsyncPgConnection,
    range: DateRange,
) -> QueryResult<Vec<DayWinner>> {
    let rows: Vec<WinnerRow> = diesel::sql_query(
        "SELECT day.date AS business_date, winner.task_id, winner.amount_cents AS reward_cents, \
                winner.occurred_at AS completed_at, tasks.description, tasks.title, tasks.jira_id \
         FROM generate_series($1::date, $2::date, interval '1 day') AS day_start, \
              LATERAL (SELECT day_start::date AS date) AS day \
         CROSS JOIN LATERAL ( \
             SELECT entries.task_id, entries.amount_cents, entries.occurred_at FROM entries \
             WHERE entries.kind = 'completion_reward' AND entries.business_date = day.date \
               AND entries.task_id IS NOT NULL \
             ORDER BY entries.amount_cents DESC, entries.occurred_at, entries.task_id \
             LIMIT 1 \
         ) AS winner \
         LEFT JOIN tasks ON tasks.task_id = winner.task_id \
         ORDER BY day.date",
    )
    .bind::<Date, _>(range.start())
    .bind::<Date, _>(range.end())
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DayWinner {
            completion: Completion {
                task_id: row.task_id,
                reward_cents: row.reward_cents,
                completed_at: row.completed_at,
                completed_on: row.business_date,
            },
            description: row.description.unwrap_or_default(),
            title: row.title.unwrap_or_default(),
            jira_id: row.jira_id.unwrap_or_default(),
        })
        .collect())
}
