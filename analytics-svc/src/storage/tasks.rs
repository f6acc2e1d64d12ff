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

/// What is known of a task: its description and its title, each at the revision that told it
/// (merged separately, so the result does not depend on the order the facts arrive in: a
/// version 1 fact never hides a title), and its prices once known.
#[derive(Debug)]
struct Known<'a> {
    description: &'a str,
    description_revision: i64,
    title: Option<(&'a str, Option<&'a str>, i64)>,
    prices: Option<Prices>,
}

impl<'a> Known<'a> {
    fn new(fact: &'a TaskFact) -> Self {
        Self {
            description: &fact.description,
            description_revision: fact.description_revision,
            title: fact.title.as_ref().map(|(title, jira_id)| {
                (
                    title.as_str(),
                    jira_id.as_deref(),
                    fact.description_revision,
                )
            }),
            prices: fact.prices,
        }
    }

    /// Takes `fact` in: the description and the title of a higher revision each replace the
    /// known ones (the first heard wins among equals); prices are kept once known.
    fn learn(&mut self, fact: &'a TaskFact) {
        let newer = Self::new(fact);
        if newer.description_revision > self.description_revision {
            self.description = newer.description;
            self.description_revision = newer.description_revision;
        }
        if let Some(title) = newer.title
            && self.title.is_none_or(|(_, _, known)| title.2 > known)
        {
            self.title = Some(title);
        }
        self.prices = self.prices.or(newer.prices);
    }
}

/// Merges the facts into the tasks, in one statement, by the rule of `Known::learn`. Tasks in
/// id order, so concurrent writers cannot deadlock.
pub async fn apply(conn: &mut AsyncPgConnection, facts: &[TaskFact]) -> diesel::QueryResult<()> {
    let mut merged: BTreeMap<Uuid, Known<'_>> = BTreeMap::new();
    for fact in facts {
        match merged.get_mut(&fact.task_id) {
            None => {
                merged.insert(fact.task_id, Known::new(fact));
            }
            Some(known) => known.learn(fact),
        }
    }
    if merged.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = merged.keys().copied().collect();
    let descriptions: Vec<&str> = merged.values().map(|known| known.description).collect();
    let revisions: Vec<i64> = merged
        .values()
        .map(|known| known.description_revision)
        .collect();
    let fees: Vec<Option<i64>> = merged
        .values()
        .map(|known| known.prices.map(|prices| prices.fee_cents))
        .collect();
    let rewards: Vec<Option<i64>> = merged
        .values()
        .map(|known| known.prices.map(|prices| prices.reward_cents))
        .collect();
    let created: Vec<Option<DateTime<Utc>>> = merged
        .values()
        .map(|known| known.prices.map(|prices| prices.created_at))
        .collect();
    let titles: Vec<Option<&str>> = merged
        .values()
        .map(|known| known.title.map(|(title, _, _)| title))
        .collect();
    let jira_ids: Vec<Option<&str>> = merged
        .values()
        .map(|known| known.title.and_then(|(_, jira_id, _)| jira_id))
        .collect();
    let title_revisions: Vec<Option<i64>> = merged
        .values()
        .map(|known| known.title.map(|(_, _, revision)| revision))
        .collect();
    // Whether the incoming title replaces the stored one (see `Known::learn`).
    const NEWER_TITLE: &str = "(excluded.title IS NOT NULL AND (tasks.title IS NULL \
         OR excluded.title_revision > tasks.title_revision))";
    diesel::sql_query(format!(
        "INSERT INTO tasks (task_id, description, description_revision, fee_cents, reward_cents, created_at, title, jira_id, title_revision) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::text[], $8::text[], $9::bigint[]) \
         ON CONFLICT (task_id) DO UPDATE SET \
         description = CASE WHEN excluded.description_revision > tasks.description_revision \
             THEN excluded.description ELSE tasks.description END, \
         description_revision = GREATEST(tasks.description_revision, excluded.description_revision), \
         title = CASE WHEN {NEWER_TITLE} THEN excluded.title ELSE tasks.title END, \
         jira_id = CASE WHEN {NEWER_TITLE} THEN excluded.jira_id ELSE tasks.jira_id END, \
         title_revision = CASE WHEN {NEWER_TITLE} THEN excluded.title_revision ELSE tasks.title_revision END, \
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
    .bind::<Array<Nullable<BigInt>>, _>(&title_revisions)
    .execute(conn)
    .await
    .map(drop)
}
