//! The tasks and assignments tables.

use chrono::{DateTime, Utc};
use diesel::deserialize::FromSql;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{assignments, tasks};
use crate::domain::{Details, TaskStatus};

// A status is stored by its name; the domain type knows nothing of diesel, so its mapping lives
// here (what `#[derive(FromSqlRow)]` would write).
impl FromSql<Text, Pg> for TaskStatus {
    fn from_sql(value: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(value)?;
        TaskStatus::parse(&text).ok_or_else(|| format!("unknown task status `{text}`").into())
    }
}

impl Queryable<Text, Pg> for TaskStatus {
    type Row = Self;

    fn build(row: Self) -> diesel::deserialize::Result<Self> {
        Ok(row)
    }
}

/// One task as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub struct TaskRow {
    /// Internal row id; never leaves the tracker.
    pub id: i64,
    /// Public id.
    pub public_id: Uuid,
    /// Current description.
    pub description: String,
    /// Revision of the details (description, title, jira id), 1 at creation.
    pub description_revision: i64,
    /// Open or done.
    pub status: TaskStatus,
    /// Current assignee.
    pub assignee_id: Uuid,
    /// Creator.
    pub creator_id: Uuid,
    /// Fee per assignment, cents.
    pub fee_cents: i64,
    /// Reward on completion, cents.
    pub reward_cents: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Completion time.
    pub completed_at: Option<DateTime<Utc>>,
    /// Title; `None` for a row written before titles existed and not backfilled yet.
    pub title: Option<String>,
    /// Jira issue key.
    pub jira_id: Option<String>,
    /// The title was read from the description and follows it.
    pub title_derived: bool,
    /// The jira id was read from the description and follows it.
    pub jira_id_derived: bool,
    /// The revision whose title the consumers were last sent (in a v2 event).
    pub announced_revision: Option<i64>,
}

impl TaskRow {
    /// The task's details. What follows the description is read from it here, so a row not
    /// backfilled yet, or one whose description a tracker of the previous release changed,
    /// reads as the backfill will store it.
    pub fn details(&self) -> Details {
        Details::stored(
            &self.description,
            self.title.as_deref(),
            self.jira_id.as_deref(),
            self.title_derived,
            self.jira_id_derived,
        )
    }

    /// The revision of its details, as events carry it.
    pub fn revision(&self) -> u64 {
        u64::try_from(self.description_revision).unwrap_or(0)
    }
}

/// A new task.
#[derive(Debug, Insertable)]
#[diesel(table_name = tasks)]
pub struct NewTask<'a> {
    /// Public id.
    pub public_id: Uuid,
    /// Description.
    pub description: &'a str,
    /// Title.
    pub title: &'a str,
    /// Jira issue key.
    pub jira_id: Option<&'a str>,
    /// The title was read from the description.
    pub title_derived: bool,
    /// The jira id was read from the description.
    pub jira_id_derived: bool,
    /// `Some(1)` when the creation's events carry the title (v2), else `None`.
    pub announced_revision: Option<i64>,
    /// Always `open` (the stored name of [`TaskStatus::Open`]).
    pub status: &'a str,
    /// First assignee.
    pub assignee_id: Uuid,
    /// Creator.
    pub creator_id: Uuid,
    /// Fee, cents.
    pub fee_cents: i64,
    /// Reward, cents.
    pub reward_cents: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Inserts a task and its first assignment.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    task: &NewTask<'_>,
    assignment_id: Uuid,
) -> QueryResult<TaskRow> {
    let row: TaskRow = diesel::insert_into(tasks::table)
        .values(task)
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::insert_into(assignments::table)
        .values((
            assignments::public_id.eq(assignment_id),
            assignments::task_id.eq(row.id),
            assignments::assignee_id.eq(row.assignee_id),
            assignments::assigned_at.eq(row.created_at),
        ))
        .execute(conn)
        .await?;
    Ok(row)
}

/// The task with this public id, locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, public_id: Uuid) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .filter(tasks::public_id.eq(public_id))
        .select(TaskRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The task with this public id.
pub async fn find(conn: &mut AsyncPgConnection, public_id: Uuid) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .filter(tasks::public_id.eq(public_id))
        .select(TaskRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Every open task, locked in id order (so that concurrent reshuffles cannot deadlock).
pub async fn lock_open(conn: &mut AsyncPgConnection) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::status.eq(TaskStatus::Open.as_str()))
        .order(tasks::id)
        .select(TaskRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// Reassigns tasks and records the assignments, in two statements whatever the count.
pub async fn reassign(
    conn: &mut AsyncPgConnection,
    task_ids: &[i64],
    assignee_ids: &[Uuid],
    assignment_ids: &[Uuid],
    reshuffle_id: Uuid,
    assigned_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE tasks SET assignee_id = reassigned.assignee_id \
         FROM unnest($1::bigint[], $2::uuid[]) AS reassigned (task_id, assignee_id) \
         WHERE tasks.id = reassigned.task_id",
    )
    .bind::<Array<BigInt>, _>(task_ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(assignee_ids)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO assignments (public_id, task_id, assignee_id, assigned_at, reshuffle_id) \
         SELECT assignment_id, task_id, assignee_id, $4, $5 \
         FROM unnest($1::uuid[], $2::bigint[], $3::uuid[]) AS assigned (assignment_id, task_id, assignee_id)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(assignment_ids)
    .bind::<Array<BigInt>, _>(task_ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(assignee_ids)
    .bind::<Timestamptz, _>(assigned_at)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(Some(reshuffle_id))
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a task done.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    id: i64,
    completed_at: DateTime<Utc>,
) -> QueryResult<TaskRow> {
    diesel::update(tasks::table.find(id))
        .set((
            tasks::status.eq(TaskStatus::Done.as_str()),
            tasks::completed_at.eq(completed_at),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the details and bumps their revision; `announced` says whether the change's event
/// carries the title (v2), which then counts as announced at the new revision.
pub async fn set_details(
    conn: &mut AsyncPgConnection,
    id: i64,
    details: &Details,
    announced: bool,
) -> QueryResult<TaskRow> {
    let announced_revision = diesel::dsl::case_when(
        announced.into_sql::<diesel::sql_types::Bool>(),
        (tasks::description_revision + 1).nullable(),
    )
    .otherwise(tasks::announced_revision);
    diesel::update(tasks::table.find(id))
        .set((
            tasks::description.eq(&details.description),
            tasks::title.eq(&details.title),
            tasks::jira_id.eq(&details.jira_id),
            tasks::title_derived.eq(details.title_derived),
            tasks::jira_id_derived.eq(details.jira_id_derived),
            tasks::description_revision.eq(tasks::description_revision + 1),
            tasks::announced_revision.eq(announced_revision),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
        .await
}

/// Up to `limit` rows whose details the consumers have not been sent at their current revision,
/// oldest first, locked; rows another transaction holds are skipped (another replica's worker
/// has them).
pub async fn lock_unannounced(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::announced_revision.is_distinct_from(tasks::description_revision.nullable()))
        .order(tasks::id)
        .limit(limit)
        .select(TaskRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Stores each row's title and jira id as the backfill read them ([`TaskRow::details`]), and
/// that the consumers have been sent them at the row's current revision.
pub async fn store_announced(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    titles: &[String],
    jira_ids: &[Option<String>],
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE tasks SET title = derived.title, jira_id = derived.jira_id, \
         announced_revision = tasks.description_revision \
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS derived (id, title, jira_id) \
         WHERE tasks.id = derived.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Text>, _>(titles)
    .bind::<Array<Nullable<Text>>, _>(jira_ids)
    .execute(conn)
    .await
}

/// A page of tasks, newest first: optionally only one assignee's, one status, and older than the
/// row `before`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    assignee: Option<Uuid>,
    status: Option<TaskStatus>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    let mut query = tasks::table
        .select(TaskRow::as_select())
        .order(tasks::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(assignee) = assignee {
        query = query.filter(tasks::assignee_id.eq(assignee));
    }
    if let Some(status) = status {
        query = query.filter(tasks::status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(tasks::id.lt(before));
    }
    query.load(conn).await
}

/// Up to `limit` tasks after the row `after`, oldest first (a snapshot's batch).
pub async fn oldest_after(
    conn: &mut AsyncPgConnection,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::id.gt(after.unwrap_or(0)))
        .select(TaskRow::as_select())
        .order(tasks::id)
        .limit(limit)
        .load(conn)
        .await
}
