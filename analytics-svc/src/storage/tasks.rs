//! Tasks: their prices, and their description, title and jira id at the highest revision of
//! their details heard (title and jira id come with version 2 task events only).

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
    /// The details' revision (1 at creation).
    pub description_revision: i64,
    /// Title and jira id at that revision, from a version 2 event; `None` from version 1,
    /// which carries neither (what is known of them is kept).
    pub title: Option<(String, Option<String>)>,
    /// Its prices, when known from this event.
    pub prices: Option<Prices>,
}

impl TaskFact {
    /// Whether this fact's text replaces `known`'s: a newer revision does; at the same
    /// revision, a version 2 fact fills in a title a version 1 fact lacked.
    fn replaces(&self, known: &TaskFact) -> bool {
        self.description_revision > known.description_revision
            || (self.description_revision == known.description_revision
                && known.title.is_none()
                && self.title.is_some())
    }
}

/// Merges the facts into the tasks, in one statement: the text of the highest revision wins (a
/// version 1 text keeps the title and jira id known before it), prices are kept once known.
/// Tasks in id order, so concurrent writers cannot deadlock.
pub async fn apply(conn: &mut AsyncPgConnection, facts: &[TaskFact]) -> diesel::QueryResult<()> {
    let mut merged: BTreeMap<Uuid, TaskFact> = BTreeMap::new();
    for fact in facts {
        match merged.get_mut(&fact.task_id) {
            None => {
                merged.insert(fact.task_id, fact.clone());
            }
            Some(known) => {
                if fact.replaces(known) {
                    known.description.clone_from(&fact.description);
                    known.description_revision = fact.description_revision;
                    if fact.title.is_some() {
                        known.title.clone_from(&fact.title);
                    }
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
    let titles: Vec<Option<&str>> = merged
        .values()
        .map(|fact| fact.title.as_ref().map(|(title, _)| title.as_str()))
        .collect();
    let jira_ids: Vec<Option<&str>> = merged
        .values()
        .map(|fact| fact.title.as_ref().and_then(|(_, jira)| jira.as_deref()))
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
    // Whether the incoming text replaces the stored one (see `TaskFact::replaces`).
    const REPLACES: &str = "(excluded.description_revision > tasks.description_revision \
         OR (excluded.description_revision = tasks.description_revision \
             AND tasks.title IS NULL AND excluded.title IS NOT NULL))";
    diesel::sql_query(format!(
        "INSERT INTO tasks (task_id, description, description_revision, fee_cents, reward_cents, created_at, title, jira_id) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::text[], $8::text[]) \
         ON CONFLICT (task_id) DO UPDATE SET \
         description = CASE WHEN {REPLACES} THEN excluded.description ELSE tasks.description END, \
         title = CASE WHEN {REPLACES} THEN COALESCE(excluded.title, tasks.title) ELSE tasks.title END, \
         jira_id = CASE WHEN {REPLACES} AND excluded.title IS NOT NULL THEN excluded.jira_id ELSE tasks.jira_id END, \
         description_revision = GREATEST(tasks.description_revision, excluded.description_revision), \
         fee_cents = COALESCE(tasks.fee_cents, excluded.fee_cents), \
         reward_cents = COALESCE(tasks.reward_cents, excluded.reward_cents), \
         created_at = COALESCE(tasks.created_at, excluded.created_at)"
    ))
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(&descriptions)
    .bind::<Array<BigInt>, _>(&revisions)
    .bind::<Array<Nullable<BigInt>>, _>(&fees)
    .bind::<Array<Nullable<BigInt>>, _>(&rewards)
    .bind::<Array<Nullable<Timestamptz>>, _>(&created)
    .bind::<Array<Nullable<Text>>, _>(&titles)
    .bind::<Array<Nullable<Text>>, _>(&jira_ids)
    .execute(conn)
    .await
    .map(drop)
}
