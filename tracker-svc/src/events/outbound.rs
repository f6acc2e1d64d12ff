//! Every event the tracker produces, built in one place from its stored tasks, in the schema
//! version the deployment publishes (`TRACKER_TASK_EVENTS_VERSION`).

use ates_contracts::ates::events::v1::SnapshotBatch;
use ates_contracts::ates::tracker::events::{v1, v2};
use ates_contracts::time::timestamp;
use ates_messaging::snapshot::SnapshotPosition;
use ates_messaging::{Cause, OutboxError, Recorder};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::config::TaskEventsVersion;
use crate::storage::tasks::TaskRow;

/// One assignment of a task: the unit a fee is charged for.
#[derive(Debug, Clone, Copy)]
pub struct Assigned<'a> {
    /// The task, as it is now.
    pub task: &'a TaskRow,
    /// Public id of the assignment.
    pub assignment_id: Uuid,
    /// Who it went to.
    pub assignee: Uuid,
    /// When.
    pub assigned_at: DateTime<Utc>,
}

/// Records the tracker's task events in one schema version.
#[derive(Debug, Clone, Copy)]
pub struct TaskEvents {
    version: TaskEventsVersion,
}

impl TaskEvents {
    /// Events of `version`.
    pub fn new(version: TaskEventsVersion) -> Self {
        Self { version }
    }

    /// Whether the events carry titles and jira ids (v2): a row they are recorded for is then
    /// announced at its revision.
    pub fn announce_details(self) -> bool {
        self.version == TaskEventsVersion::V2
    }

    /// `TaskAdded` (to accounting) and `TaskCreated` (to analytics) of a new task.
    pub async fn created(
        self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        task: &TaskRow,
        assignment_id: Uuid,
    ) -> Result<(), OutboxError> {
        let first = Assigned {
            task,
            assignment_id,
            assignee: task.assignee_id,
            assigned_at: task.created_at,
        };
        let (now, cause) = (task.created_at, Cause::current);
        match self.version {
            TaskEventsVersion::V1 => {
                events
                    .record(conn, &v1_task_added(first), now, cause())
                    .await?;
                events
                    .record(conn, &v1_task_created(task), now, cause())
                    .await?;
            }
            TaskEventsVersion::V2 => {
                events
                    .record(conn, &v2_task_added(first), now, cause())
                    .await?;
                events
                    .record(conn, &v2_task_created(task), now, cause())
                    .await?;
            }
        }
        Ok(())
    }

    /// `TasksReassigned` (to accounting): the assignments of a reshuffle, in batches of at most
    /// `batch_size`; every assignment is in exactly one batch.
    pub async fn reassigned(
        self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        reshuffle_id: Uuid,
        assignments: &[Assigned<'_>],
        batch_size: usize,
        now: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        match self.version {
            TaskEventsVersion::V1 => {
                let batches = batched(assignments, batch_size, |chunk, index, count| {
                    v1::TasksReassigned {
                        reshuffle_id: reshuffle_id.to_string(),
                        batch_index: index,
                        batch_count: count,
                        assignments: chunk.iter().copied().map(v1_assignment).collect(),
                    }
                });
                events
                    .record_all(conn, batches.iter().map(|b| (b, now, Cause::current())))
                    .await?;
            }
            TaskEventsVersion::V2 => {
                let batches = batched(assignments, batch_size, |chunk, index, count| {
                    v2::TasksReassigned {
                        reshuffle_id: reshuffle_id.to_string(),
                        batch_index: index,
                        batch_count: count,
                        assignments: chunk.iter().copied().map(v2_assignment).collect(),
                    }
                });
                events
                    .record_all(conn, batches.iter().map(|b| (b, now, Cause::current())))
                    .await?;
            }
        }
        Ok(())
    }

    /// `TaskCompleted` (to accounting): the assignee earned the reward. It carries no text and
    /// has one version.
    pub async fn completed(
        self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        task: &TaskRow,
        completed_at: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        let event = v1::TaskCompleted {
            task_id: task.public_id.to_string(),
            assignee_id: task.assignee_id.to_string(),
            reward_cents: task.reward_cents,
            completed_at: Some(timestamp(completed_at)),
        };
        events
            .record(conn, &event, completed_at, Cause::current())
            .await?;
        Ok(())
    }

    /// The details from now on: v1 `TaskDescriptionUpdated` or v2 `TaskDetailsUpdated`.
    pub async fn details_updated(
        self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        task: &TaskRow,
        cause: Cause,
    ) -> Result<(), OutboxError> {
        let now = Utc::now();
        match self.version {
            TaskEventsVersion::V1 => {
                let event = v1::TaskDescriptionUpdated {
                    task_id: task.public_id.to_string(),
                    description: task.description.clone(),
                    revision: task.revision(),
                };
                events.record(conn, &event, now, cause).await?;
            }
            TaskEventsVersion::V2 => {
                events
                    .record(conn, &v2_details_updated(task), now, cause)
                    .await?;
            }
        }
        Ok(())
    }

    /// `TaskDetailsUpdated` (v2) of each task, whatever the version: the backfill announces
    /// titles, which only v2 carries.
    pub async fn details_announced(
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        tasks: &[TaskRow],
    ) -> Result<(), OutboxError> {
        let now = Utc::now();
        let updates: Vec<v2::TaskDetailsUpdated> = tasks.iter().map(v2_details_updated).collect();
        events
            .record_all(conn, updates.iter().map(|e| (e, now, Cause::current())))
            .await?;
        Ok(())
    }

    /// `TasksSnapshot` (to analytics): one batch of tasks as they are now.
    pub async fn snapshot(
        self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
        position: &SnapshotPosition,
        rows: Vec<TaskRow>,
    ) -> Result<Option<String>, OutboxError> {
        let key = |row: &TaskRow| row.id.to_string();
        match self.version {
            TaskEventsVersion::V1 => position.record(conn, events, rows, v1_snapshot, key).await,
            TaskEventsVersion::V2 => position.record(conn, events, rows, v2_snapshot, key).await,
        }
    }
}

/// `build(chunk, index, count)` of each chunk of at most `batch_size` assignments.
fn batched<T>(
    assignments: &[Assigned<'_>],
    batch_size: usize,
    build: impl Fn(&[Assigned<'_>], u32, u32) -> T,
) -> Vec<T> {
    let batch_size = batch_size.max(1);
    let count = u32::try_from(assignments.len().div_ceil(batch_size)).unwrap_or(u32::MAX);
    assignments
        .chunks(batch_size)
        .enumerate()
        .map(|(index, chunk)| build(chunk, u32::try_from(index).unwrap_or(u32::MAX), count))
        .collect()
}

fn v1_assignment(assigned: Assigned<'_>) -> v1::Assignment {
    v1::Assignment {
        assignment_id: assigned.assignment_id.to_string(),
        task_id: assigned.task.public_id.to_string(),
        assignee_id: assigned.assignee.to_string(),
        description: assigned.task.description.clone(),
        fee_cents: assigned.task.fee_cents,
        assigned_at: Some(timestamp(assigned.assigned_at)),
    }
}

fn v2_assignment(assigned: Assigned<'_>) -> v2::Assignment {
    let details = assigned.task.details();
    v2::Assignment {
        assignment_id: assigned.assignment_id.to_string(),
        task_id: assigned.task.public_id.to_string(),
        assignee_id: assigned.assignee.to_string(),
        description: details.description,
        fee_cents: assigned.task.fee_cents,
        assigned_at: Some(timestamp(assigned.assigned_at)),
        title: details.title,
        jira_id: details.jira_id.unwrap_or_default(),
        details_revision: assigned.task.revision(),
    }
}

fn v1_task_added(first: Assigned<'_>) -> v1::TaskAdded {
    v1::TaskAdded {
        task_id: first.task.public_id.to_string(),
        assignment: Some(v1_assignment(first)),
        creator_id: first.task.creator_id.to_string(),
    }
}

fn v2_task_added(first: Assigned<'_>) -> v2::TaskAdded {
    v2::TaskAdded {
        task_id: first.task.public_id.to_string(),
        assignment: Some(v2_assignment(first)),
        creator_id: first.task.creator_id.to_string(),
    }
}

fn v1_task_created(task: &TaskRow) -> v1::TaskCreated {
    v1::TaskCreated {
        task_id: task.public_id.to_string(),
        description: task.description.clone(),
        fee_cents: task.fee_cents,
        reward_cents: task.reward_cents,
        created_at: Some(timestamp(task.created_at)),
    }
}

fn v2_task_created(task: &TaskRow) -> v2::TaskCreated {
    let details = task.details();
    v2::TaskCreated {
        task_id: task.public_id.to_string(),
        description: details.description,
        fee_cents: task.fee_cents,
        reward_cents: task.reward_cents,
        created_at: Some(timestamp(task.created_at)),
        title: details.title,
        jira_id: details.jira_id.unwrap_or_default(),
    }
}

fn v2_details_updated(task: &TaskRow) -> v2::TaskDetailsUpdated {
    let details = task.details();
    v2::TaskDetailsUpdated {
        task_id: task.public_id.to_string(),
        description: details.description,
        revision: task.revision(),
        title: details.title,
        jira_id: details.jira_id.unwrap_or_default(),
    }
}

fn v1_snapshot(batch: SnapshotBatch, tasks: &[TaskRow]) -> v1::TasksSnapshot {
    v1::TasksSnapshot {
        batch: Some(batch),
        tasks: tasks
            .iter()
            .map(|task| v1::tasks_snapshot::Task {
                task_id: task.public_id.to_string(),
                description: task.description.clone(),
                description_revision: task.revision(),
                fee_cents: task.fee_cents,
                reward_cents: task.reward_cents,
                created_at: Some(timestamp(task.created_at)),
            })
            .collect(),
    }
}

fn v2_snapshot(batch: SnapshotBatch, tasks: &[TaskRow]) -> v2::TasksSnapshot {
    v2::TasksSnapshot {
        batch: Some(batch),
        tasks: tasks
            .iter()
            .map(|task| {
                let details = task.details();
                v2::tasks_snapshot::Task {
                    task_id: task.public_id.to_string(),
                    description: details.description,
                    details_revision: task.revision(),
                    fee_cents: task.fee_cents,
                    reward_cents: task.reward_cents,
                    created_at: Some(timestamp(task.created_at)),
                    title: details.title,
                    jira_id: details.jira_id.unwrap_or_default(),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: i64) -> TaskRow {
        TaskRow {
            id: index,
            public_id: Uuid::now_v7(),
            description: format!("[UBERPOP-{index}] task {index}"),
            description_revision: 1,
            status: crate::domain::TaskStatus::Open,
            assignee_id: Uuid::now_v7(),
            creator_id: Uuid::now_v7(),
            fee_cents: 1_000,
            reward_cents: 2_000,
            created_at: Utc::now(),
            completed_at: None,
            title: None,
            jira_id: None,
            title_derived: true,
            jira_id_derived: true,
            announced_revision: None,
        }
    }

    #[test]
    fn every_assignment_is_in_exactly_one_bounded_batch() {
        let tasks: Vec<TaskRow> = (1..=7).map(row).collect();
        let assignments: Vec<Assigned<'_>> = tasks
            .iter()
            .map(|task| Assigned {
                task,
                assignment_id: Uuid::now_v7(),
                assignee: task.assignee_id,
                assigned_at: task.created_at,
            })
            .collect();
        let batches = batched(&assignments, 3, |chunk, index, count| {
            (chunk.len(), index, count)
        });
        assert_eq!(batches, vec![(3, 0, 3), (3, 1, 3), (1, 2, 3)]);
        assert!(batched(&assignments[..0], 3, |_, _, _| ()).is_empty());
    }

    #[test]
    fn a_row_not_backfilled_yet_carries_the_title_its_backfill_will_store() {
        let task = row(42);
        let event = v2_task_created(&task);
        assert_eq!(event.title, "task 42");
        assert_eq!(event.jira_id, "UBERPOP-42");
        assert_eq!(event.description, "[UBERPOP-42] task 42");
        let stored = TaskRow {
            title: Some("Given".to_owned()),
            jira_id: None,
            title_derived: false,
            jira_id_derived: false,
            ..row(43)
        };
        let event = v2_details_updated(&stored);
        assert_eq!(
            (event.title.as_str(), event.jira_id.as_str()),
            ("Given", "")
        );
    }
}
