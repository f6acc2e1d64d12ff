//! Tasks: their prices, and their description at the highest description revision heard.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// What a task costs, fixed when it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// Assignment fee in cents.
    pub fee_cents: i64,
    /// Completion reward in cents.
    pub reward_cents: i64,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
}

/// A task's description at a revision, with its prices when the event carries them
/// (`TaskCreated` and snapshots do, `TaskDescriptionUpdated` does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFact {
    /// The task.
    pub task_id: Uuid,
    /// Its description at `description_revision`.
    pub description: String,
    /// The description's revision (1 at creation).
    pub description_revision: i64,
    /// Its prices, when known from this event.
    pub prices: Option<Prices>,
}

/// Merges the facts into the tasks, in one statement: the description of the highest revision
/// wins, prices are kept once known. Tasks in id order, so concurrent writers cannot deadlock.
pub async fn apply(conn: &mut AsyncPgConnection, facts: &[TaskFact]) -> diesel::QueryResult<()> {
    let mut merged: BTreeMap<Uuid, TaskFact> = BTreeMap::new();
    for fact in facts {
        match merged.get_mut(&fact.task_id) {
            None => {
                merged.insert(fact.task_id, fact.clone());
            }
            Some(known) => {
                if fact.description_revision > known.description_revision {
                    known.description.clone_from(&fact.description);
                    known.description_revision = fact.description_revision;
                }
                known.prices = known.prices.or(fact.prices);
            }
        }
    }
    if merged.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = merged.keys().copied().collect();
    let descriptions: Vec<&str> = merged
        .values()
        .map(|fact| fact.description.as_str())
        .collect();
    let revisions: Vec<i64> = merged
        .values()
        .map(|fact| fact.description_revision)
        .collect();
    let fees: Vec<Option<i64>> = merged
        .values()
        .map(|fact| fact.prices.map(|prices| prices.fee_cents))
        .collect();
    let rewards: Vec<Option<i64>> = merged
        .values()
        .map(|fact| fact.prices.map(|prices| prices.reward_cents))
        .collect();
    let created: Vec<Option<DateTime<Utc>>> = merged
        .values()
        .map(|fact| fact.prices.map(|prices| prices.created_at))
        .collect();
    diesel::sql_query(
        "INSERT INTO tasks (task_id, description, description_revision, fee_cents, reward_cents, created_at) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::timestamptz[]) \
         ON CONFLICT (task_id) DO UPDATE SET \
         description = CASE WHEN excluded.description_revision > tasks.description_revision \
             THEN excluded.description ELSE tasks.description END, \
         description_revision = GREATEST(tasks.description_revision, excluded.description_revision), \
         fee_cents = COALESCE(tasks.fee_cents, excluded.fee_cents), \
         reward_cents = COALESCE(tasks.reward_cents, excluded.reward_cents), \
         created_at = COALESCE(tasks.created_at, excluded.created_at)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(&descriptions)
    .bind::<Array<BigInt>, _>(&revisions)
    .bind::<Array<Nullable<BigInt>>, _>(&fees)
    .bind::<Array<Nullable<BigInt>>, _>(&rewards)
    .bind::<Array<Nullable<Timestamptz>>, _>(&created)
    .execute(conn)
    .await
    .map(drop)
}
