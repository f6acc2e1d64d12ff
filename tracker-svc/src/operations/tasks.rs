//! Task operations: each opens its transaction, applies the domain's rules, and commits
//! together with the events it causes.

use ates_messaging::{Cause, DbPool, Outbox};
use ates_token::Role;
use chrono::Utc;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::request_keys::RequestKey;
use crate::domain::{self, Description, Details, DetailsChange, JiraId, Prices, TaskStatus, Title};
use crate::error::TrackerError;
use crate::events::outbound::{Assigned, TaskEvents};
use crate::storage::accounts;
use crate::storage::request_keys::RequestKeyRow;
use crate::storage::tasks::{self, NewTask, TaskRow};

/// Advisory lock key that serialises reshuffles.
const RESHUFFLE_LOCK: i64 = 7_242_017;

const NOBODY_TO_ASSIGN: &str =
    "no account can be assigned tasks: every account is a manager or an admin, or none exists yet";

/// The outcome of a reshuffle.
#[derive(Debug, Clone, Copy)]
pub struct Reshuffle {
    /// Its id, as carried by its events.
    pub reshuffle_id: Uuid,
    /// How many open tasks were reassigned.
    pub reassigned: usize,
}

/// Tasks and their events.
#[derive(Clone)]
pub struct Tasks {
    pool: DbPool,
    outbox: Outbox,
    /// Most assignments per TasksReassigned event.
    reassignment_batch_size: usize,
    /// The version the events are recorded in.
    events: TaskEvents,
}

/// What a client asked a new task to say.
#[derive(Debug, Clone)]
pub struct NewDetails {
    /// Its description.
    pub description: Description,
    /// Its title; `None` from a client written before titles existed.
    pub title: Option<Title>,
    /// Its jira id, if given.
    pub jira_id: Option<JiraId>,
}

impl NewDetails {
    /// What a retry must repeat: an old client's description alone, so that its retries match
    /// across an upgrade.
    fn fingerprint(&self) -> String {
        if self.title.is_none() && self.jira_id.is_none() {
            return self.description.as_str().to_owned();
        }
        format!(
            "{}\u{1f}{}\u{1f}{}",
            self.description.as_str(),
            self.title.as_ref().map_or("", Title::as_str),
            self.jira_id.as_ref().map_or("", JiraId::as_str)
        )
    }
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Tasks")
            .field("reassignment_batch_size", &self.reassignment_batch_size)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl Tasks {
    /// Task operations over the tracker's pool and outbox, recording `events`.
    pub fn new(
        pool: DbPool,
        outbox: Outbox,
        reassignment_batch_size: usize,
        events: TaskEvents,
    ) -> Self {
        Self {
            pool,
            outbox,
            reassignment_batch_size: reassignment_batch_size.max(1),
            events,
        }
    }

    async fn connection(&self) -> Result<ates_storage::DbConnection, TrackerError> {
        Ok(ates_storage::connection(&self.pool).await?)
    }

    /// Creates a task with fixed prices and a random eligible assignee. A retry with the same
    /// `request_id` returns the task the first call created.
    pub async fn create(
        &self,
        creator: Uuid,
        asked: &NewDetails,
        request_id: Option<Uuid>,
    ) -> Result<TaskRow, TrackerError> {
        let details = Details::new(
            &asked.description,
            asked.title.clone(),
            asked.jira_id.clone(),
        );
        let fingerprint = asked.fingerprint();
        let mut conn = self.connection().await?;
        let (row, created) = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let key = RequestKey::new(creator, request_id, "CreateTask", &fingerprint);
                if let Some(first) = key.claim(conn).await? {
                    return Ok::<_, TrackerError>((replayed_task(conn, &first).await?, false));
                }
                let eligible = accounts::with_roles(conn, &domain::eligible_roles()).await?;
                let (assignee, prices) = {
                    let mut rng = rand::rng();
                    let assignee = domain::pick_assignee(&eligible, &mut rng)
                        .ok_or(TrackerError::FailedPrecondition(NOBODY_TO_ASSIGN))?;
                    (assignee, Prices::draw(&mut rng))
                };
                let assignment_id = Uuid::now_v7();
                let now = Utc::now();
                let new_task = NewTask {
                    public_id: Uuid::now_v7(),
                    description: &details.description,
                    title: &details.title,
                    jira_id: details.jira_id.as_deref(),
                    title_derived: details.title_derived,
                    jira_id_derived: details.jira_id_derived,
                    announced_revision: self.events.announce_details().then_some(1),
                    status: TaskStatus::Open.as_str(),
                    assignee_id: assignee,
                    creator_id: creator,
                    fee_cents: prices.fee_cents,
                    reward_cents: prices.reward_cents,
                    created_at: now,
                };
                let row = tasks::insert(conn, &new_task, assignment_id).await?;
                self.events
                    .created(conn, events, &row, assignment_id)
                    .await?;
                key.record(conn, row.public_id, None).await?;
                Ok((row, true))
            })
            .await?;
        if created {
            tracing::info!(task.id = %row.public_id, "task created");
        }
        Ok(row)
    }

    /// Gives every open task a new random eligible assignee. A retry with the same `request_id`
    /// returns the first call's reshuffle.
    pub async fn reassign_open(
        &self,
        caller: Uuid,
        request_id: Option<Uuid>,
    ) -> Result<Reshuffle, TrackerError> {
        let reshuffle_id = Uuid::now_v7();
        let batch_size = self.reassignment_batch_size;
        let mut conn = self.connection().await?;
        let (reshuffle, reshuffled) = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let key = RequestKey::new(caller, request_id, "ReassignOpenTasks", "");
                if let Some(first) = key.claim(conn).await? {
                    let reshuffle = Reshuffle {
                        reshuffle_id: first.result_id.ok_or_else(key_without_result)?,
                        reassigned: first
                            .result_count
                            .and_then(|count| usize::try_from(count).ok())
                            .ok_or_else(key_without_result)?,
                    };
                    return Ok::<_, TrackerError>((reshuffle, false));
                }
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(RESHUFFLE_LOCK)
                    .execute(conn)
                    .await?;
                let open = tasks::lock_open(conn).await?;
                let done = Reshuffle {
                    reshuffle_id,
                    reassigned: open.len(),
                };
                if open.is_empty() {
                    key.record(conn, reshuffle_id, Some(0)).await?;
                    return Ok((done, true));
                }
                let eligible = accounts::with_roles(conn, &domain::eligible_roles()).await?;
                if eligible.is_empty() {
                    return Err(TrackerError::FailedPrecondition(NOBODY_TO_ASSIGN));
                }
                let now = Utc::now();
                let assignees: Vec<Uuid> = {
                    let mut rng = rand::rng();
                    open.iter()
                        .map(|_| {
                            domain::pick_assignee(&eligible, &mut rng)
                                .expect("eligible is not empty")
                        })
                        .collect()
                };
                let assignment_ids: Vec<Uuid> = open.iter().map(|_| Uuid::now_v7()).collect();
                let task_ids: Vec<i64> = open.iter().map(|task| task.id).collect();
                tasks::reassign(
                    conn,
                    &task_ids,
                    &assignees,
                    &assignment_ids,
                    reshuffle_id,
                    now,
                )
                .await?;

                let assignments: Vec<Assigned<'_>> = open
                    .iter()
                    .zip(assignees.iter().zip(&assignment_ids))
                    .map(|(task, (assignee, assignment_id))| Assigned {
                        task,
                        assignment_id: *assignment_id,
                        assignee: *assignee,
                        assigned_at: now,
                    })
                    .collect();
                self.events
                    .reassigned(conn, events, reshuffle_id, &assignments, batch_size, now)
                    .await?;
                key.record(conn, reshuffle_id, i64::try_from(open.len()).ok())
                    .await?;
                Ok((done, true))
            })
            .await?;
        if reshuffled {
            tracing::info!(
                reshuffle.id = %reshuffle.reshuffle_id,
                tasks = reshuffle.reassigned,
                "open tasks reassigned"
            );
        }
        Ok(reshuffle)
    }

    /// Marks a task done; only its current assignee may, only once. A retry with the same
    /// `request_id` returns the completed task.
    pub async fn complete(
        &self,
        caller: Uuid,
        task_id: Uuid,
        request_id: Option<Uuid>,
    ) -> Result<TaskRow, TrackerError> {
        let mut conn = self.connection().await?;
        let fingerprint = task_id.to_string();
        let (row, completed) = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let key = RequestKey::new(caller, request_id, "CompleteTask", &fingerprint);
                if let Some(first) = key.claim(conn).await? {
                    return Ok::<_, TrackerError>((replayed_task(conn, &first).await?, false));
                }
                let task = tasks::lock(conn, task_id)
                    .await?
                    .ok_or(TrackerError::TaskNotFound)?;
                domain::check_completion(task.status, task.assignee_id, caller)?;
                let now = Utc::now();
                let task = tasks::complete(conn, task.id, now).await?;
                self.events.completed(conn, events, &task, now).await?;
                key.record(conn, task.public_id, None).await?;
                Ok((task, true))
            })
            .await?;
        if completed {
            tracing::info!(task.id = %row.public_id, "task completed");
        }
        Ok(row)
    }

    /// Changes a task's details: its creator, managers and admins. A change that changes
    /// nothing records nothing.
    pub async fn update_details(
        &self,
        caller: Uuid,
        role: Role,
        task_id: Uuid,
        change: &DetailsChange,
    ) -> Result<TaskRow, TrackerError> {
        let mut conn = self.connection().await?;
        let (row, changed) = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let task = tasks::lock(conn, task_id)
                    .await?
                    .ok_or(TrackerError::TaskNotFound)?;
                domain::check_description_change(task.creator_id, caller, role)?;
                let current = task.details();
                let next = current.changed(change);
                if next == current {
                    return Ok::<_, TrackerError>((task, false));
                }
                let announce = self.events.announce_details();
                let task = tasks::set_details(conn, task.id, &next, announce).await?;
                self.events
                    .details_updated(conn, events, &task, Cause::current())
                    .await?;
                Ok((task, true))
            })
            .await?;
        if changed {
            tracing::info!(task.id = %row.public_id, "task details changed");
        }
        Ok(row)
    }

    /// One task.
    pub async fn get(&self, task_id: Uuid) -> Result<TaskRow, TrackerError> {
        let mut conn = self.connection().await?;
        tasks::find(&mut conn, task_id)
            .await?
            .ok_or(TrackerError::TaskNotFound)
    }

    /// A page of tasks, newest first, after the task named by `after`.
    pub async fn page(
        &self,
        assignee: Option<Uuid>,
        status: Option<TaskStatus>,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<TaskRow>, TrackerError> {
        let mut conn = self.connection().await?;
        let before = match after {
            Some(public_id) => Some(
                tasks::find(&mut conn, public_id)
                    .await?
                    .ok_or(TrackerError::InvalidArgument {
                        field: "page_token",
                        reason: "does not come from a previous page".to_owned(),
                    })?
                    .id,
            ),
            None => None,
        };
        Ok(tasks::page(&mut conn, assignee, status, before, limit).await?)
    }
}

fn key_without_result() -> TrackerError {
    TrackerError::Internal("a committed request key has no result".to_owned())
}

/// The task an earlier call with the same key created or completed, as it is now.
async fn replayed_task(
    conn: &mut AsyncPgConnection,
    first: &RequestKeyRow,
) -> Result<TaskRow, TrackerError> {
    let task_id = first.result_id.ok_or_else(key_without_result)?;
    tasks::find(conn, task_id).await?.ok_or_else(|| {
        TrackerError::Internal(format!("request key names a missing task {task_id}"))
    })
}
