//! Task operations: each change commits together with the events it causes.

use ates_contracts::ates::tracker::events::v1 as events;
use ates_messaging::{DbPool, Outbox};
use ates_token::Role;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use ates_contracts::time::timestamp;

use crate::domain::{self, Description, Prices};
use crate::error::{TrackerError, pool_error};
use crate::storage::accounts;
use crate::storage::request_keys::{self, RequestKeyRow};
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
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Tasks")
            .field("reassignment_batch_size", &self.reassignment_batch_size)
            .finish_non_exhaustive()
    }
}

impl Tasks {
    /// Task operations over the tracker's pool and outbox.
    pub fn new(pool: DbPool, outbox: Outbox, reassignment_batch_size: usize) -> Self {
        Self {
            pool,
            outbox,
            reassignment_batch_size: reassignment_batch_size.max(1),
        }
    }

    async fn connection(
        &self,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, TrackerError>
    {
        self.pool.get().await.map_err(pool_error)
    }

    /// Creates a task with fixed prices and a random eligible assignee. A retry with the same
    /// `request_id` returns the task the first call created.
    pub async fn create(
        &self,
        creator: Uuid,
        description: &Description,
        request_id: Option<Uuid>,
    ) -> Result<TaskRow, TrackerError> {
        let mut conn = self.connection().await?;
        let (row, created) = conn
            .transaction::<_, TrackerError, _>(async |conn| {
                let key = RequestKey::new(creator, request_id, "CreateTask", description.as_str());
                if let Some(first) = key.claim(conn).await? {
                    return Ok((replayed_task(conn, &first).await?, false));
                }
                let eligible = accounts::eligible(conn).await?;
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
                    description: description.as_str(),
                    status: "open",
                    assignee_id: assignee,
                    creator_id: creator,
                    fee_cents: prices.fee_cents,
                    reward_cents: prices.reward_cents,
                    created_at: now,
                };
                let row = tasks::insert(conn, &new_task, assignment_id).await?;
                let added = events::TaskAdded {
                    task_id: row.public_id.to_string(),
                    assignment: Some(assignment(&row, assignment_id, row.assignee_id, now)),
                    creator_id: creator.to_string(),
                };
                let created = events::TaskCreated {
                    task_id: row.public_id.to_string(),
                    description: row.description.clone(),
                    fee_cents: row.fee_cents,
                    reward_cents: row.reward_cents,
                    created_at: Some(timestamp(now)),
                };
                self.outbox.record(conn, &added, now).await?;
                self.outbox.record(conn, &created, now).await?;
                key.record(conn, row.public_id, None).await?;
                Ok((row, true))
            })
            .await?;
        if created {
            self.outbox.notify_committed();
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
        let (reshuffle, reshuffled) = conn
            .transaction::<_, TrackerError, _>(async |conn| {
                let key = RequestKey::new(caller, request_id, "ReassignOpenTasks", "");
                if let Some(first) = key.claim(conn).await? {
                    let reshuffle = Reshuffle {
                        reshuffle_id: first.result_id.ok_or_else(key_without_result)?,
                        reassigned: first
                            .result_count
                            .and_then(|count| usize::try_from(count).ok())
                            .ok_or_else(key_without_result)?,
                    };
                    return Ok((reshuffle, false));
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
                let eligible = accounts::eligible(conn).await?;
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

                let batch_count =
                    u32::try_from(open.len().div_ceil(batch_size)).unwrap_or(u32::MAX);
                let batches: Vec<events::TasksReassigned> = open
                    .iter()
                    .zip(assignees.iter().zip(&assignment_ids))
                    .collect::<Vec<_>>()
                    .chunks(batch_size)
                    .enumerate()
                    .map(|(index, chunk)| events::TasksReassigned {
                        reshuffle_id: reshuffle_id.to_string(),
                        batch_index: u32::try_from(index).unwrap_or(u32::MAX),
                        batch_count,
                        assignments: chunk
                            .iter()
                            .map(|(task, (assignee, assignment_id))| {
                                assignment(task, **assignment_id, **assignee, now)
                            })
                            .collect(),
                    })
                    .collect();
                self.outbox
                    .record_all(conn, batches.iter().map(|batch| (batch, now)))
                    .await?;
                key.record(conn, reshuffle_id, i64::try_from(open.len()).ok())
                    .await?;
                Ok((done, true))
            })
            .await?;
        if reshuffled {
            self.outbox.notify_committed();
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
        let (row, completed) = conn
            .transaction::<_, TrackerError, _>(async |conn| {
                let key = RequestKey::new(caller, request_id, "CompleteTask", &fingerprint);
                if let Some(first) = key.claim(conn).await? {
                    return Ok((replayed_task(conn, &first).await?, false));
                }
                let task = tasks::lock(conn, task_id)
                    .await?
                    .ok_or(TrackerError::TaskNotFound)?;
                if task.assignee_id != caller {
                    return Err(TrackerError::PermissionDenied(
                        "only the task's current assignee may complete it",
                    ));
                }
                if task.status == "done" {
                    return Err(TrackerError::FailedPrecondition("the task is already done"));
                }
                let now = Utc::now();
                let task = tasks::complete(conn, task.id, now).await?;
                let completed = events::TaskCompleted {
                    task_id: task.public_id.to_string(),
                    assignee_id: task.assignee_id.to_string(),
                    reward_cents: task.reward_cents,
                    completed_at: Some(timestamp(now)),
                };
                self.outbox.record(conn, &completed, now).await?;
                key.record(conn, task.public_id, None).await?;
                Ok((task, true))
            })
            .await?;
        if completed {
            self.outbox.notify_committed();
            tracing::info!(task.id = %row.public_id, "task completed");
        }
        Ok(row)
    }

    /// Changes a task's description: its creator, managers and admins.
    pub async fn update_description(
        &self,
        caller: Uuid,
        role: Role,
        task_id: Uuid,
        description: &Description,
    ) -> Result<TaskRow, TrackerError> {
        let mut conn = self.connection().await?;
        let (row, changed) = conn
            .transaction::<_, TrackerError, _>(async |conn| {
                let task = tasks::lock(conn, task_id)
                    .await?
                    .ok_or(TrackerError::TaskNotFound)?;
                if task.creator_id != caller && !matches!(role, Role::Manager | Role::Admin) {
                    return Err(TrackerError::PermissionDenied(
                        "only the task's creator, managers and admins may change its description",
                    ));
                }
                if task.description == description.as_str() {
                    return Ok((task, false));
                }
                let task = tasks::set_description(conn, task.id, description.as_str()).await?;
                let updated = events::TaskDescriptionUpdated {
                    task_id: task.public_id.to_string(),
                    description: task.description.clone(),
                    revision: u64::try_from(task.description_revision).unwrap_or(0),
                };
                self.outbox.record(conn, &updated, Utc::now()).await?;
                Ok((task, true))
            })
            .await?;
        if changed {
            self.outbox.notify_committed();
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
        status: Option<&str>,
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

/// A call's idempotency key, if it sent one, and what the call asked for.
struct RequestKey<'a> {
    caller: Uuid,
    request_id: Option<Uuid>,
    method: &'static str,
    fingerprint: &'a str,
}

impl<'a> RequestKey<'a> {
    fn new(
        caller: Uuid,
        request_id: Option<Uuid>,
        method: &'static str,
        fingerprint: &'a str,
    ) -> Self {
        Self {
            caller,
            request_id,
            method,
            fingerprint,
        }
    }

    /// What an earlier committed call with this key produced; `None` when there is no key or
    /// this call now holds it.
    async fn claim(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<Option<RequestKeyRow>, TrackerError> {
        let Some(request_id) = self.request_id else {
            return Ok(None);
        };
        let first = request_keys::claim(
            conn,
            self.caller,
            request_id,
            self.method,
            self.fingerprint,
            Utc::now(),
        )
        .await?;
        match first {
            Some(first) if first.method != self.method || first.fingerprint != self.fingerprint => {
                Err(TrackerError::InvalidArgument {
                    field: "request_id",
                    reason: format!(
                        "was already used by this caller for a different request ({})",
                        first.method
                    ),
                })
            }
            Some(first) => {
                tracing::info!(
                    method = self.method,
                    request.id = %request_id,
                    "answered a retry from its request key"
                );
                Ok(Some(first))
            }
            None => Ok(None),
        }
    }

    /// Stores the result of the call that holds the key.
    async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        result_id: Uuid,
        result_count: Option<i64>,
    ) -> Result<(), TrackerError> {
        if let Some(request_id) = self.request_id {
            request_keys::record_result(conn, self.caller, request_id, result_id, result_count)
                .await?;
        }
        Ok(())
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

fn assignment(
    task: &TaskRow,
    assignment_id: Uuid,
    assignee: Uuid,
    assigned_at: DateTime<Utc>,
) -> events::Assignment {
    events::Assignment {
        assignment_id: assignment_id.to_string(),
        task_id: task.public_id.to_string(),
        assignee_id: assignee.to_string(),
        description: task.description.clone(),
        fee_cents: task.fee_cents,
        assigned_at: Some(timestamp(assigned_at)),
    }
}
