//! Every event the tracker produces, built in one place from its stored tasks.

use ates_contracts::ates::tracker::events::v1 as events;
use ates_contracts::time::timestamp;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::storage::tasks::TaskRow;

/// One assignment of `task` to `assignee`: the unit a fee is charged for.
pub fn assignment(
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

/// `TaskAdded` (business event, to accounting): a new task and its first assignment.
pub fn task_added(task: &TaskRow, assignment_id: Uuid) -> events::TaskAdded {
    events::TaskAdded {
        task_id: task.public_id.to_string(),
        assignment: Some(assignment(
            task,
            assignment_id,
            task.assignee_id,
            task.created_at,
        )),
        creator_id: task.creator_id.to_string(),
    }
}

/// `TaskCreated` (CUD event, to analytics): a new task with its prices.
pub fn task_created(task: &TaskRow) -> events::TaskCreated {
    events::TaskCreated {
        task_id: task.public_id.to_string(),
        description: task.description.clone(),
        fee_cents: task.fee_cents,
        reward_cents: task.reward_cents,
        created_at: Some(timestamp(task.created_at)),
    }
}

/// `TasksReassigned` (business event, to accounting): the assignments of a reshuffle, in batches
/// of at most `batch_size`; every assignment is in exactly one batch.
pub fn tasks_reassigned(
    reshuffle_id: Uuid,
    assignments: Vec<events::Assignment>,
    batch_size: usize,
) -> Vec<events::TasksReassigned> {
    let batch_size = batch_size.max(1);
    let batch_count = u32::try_from(assignments.len().div_ceil(batch_size)).unwrap_or(u32::MAX);
    assignments
        .chunks(batch_size)
        .enumerate()
        .map(|(index, chunk)| events::TasksReassigned {
            reshuffle_id: reshuffle_id.to_string(),
            batch_index: u32::try_from(index).unwrap_or(u32::MAX),
            batch_count,
            assignments: chunk.to_vec(),
        })
        .collect()
}

/// `TaskCompleted` (business event, to accounting): the assignee earned the reward.
pub fn task_completed(task: &TaskRow, completed_at: DateTime<Utc>) -> events::TaskCompleted {
    events::TaskCompleted {
        task_id: task.public_id.to_string(),
        assignee_id: task.assignee_id.to_string(),
        reward_cents: task.reward_cents,
        completed_at: Some(timestamp(completed_at)),
    }
}

/// `TaskDescriptionUpdated` (CUD event, to accounting): the description from now on.
pub fn task_description_updated(task: &TaskRow) -> events::TaskDescriptionUpdated {
    events::TaskDescriptionUpdated {
        task_id: task.public_id.to_string(),
        description: task.description.clone(),
        revision: u64::try_from(task.description_revision).unwrap_or(0),
    }
}

/// `TasksSnapshot` (snapshot event, to analytics): one batch of tasks as they are now.
pub fn tasks_snapshot(
    batch: ates_contracts::ates::events::v1::SnapshotBatch,
    tasks: &[TaskRow],
) -> events::TasksSnapshot {
    events::TasksSnapshot {
        batch: Some(batch),
        tasks: tasks
            .iter()
            .map(|task| events::tasks_snapshot::Task {
                task_id: task.public_id.to_string(),
                description: task.description.clone(),
                description_revision: u64::try_from(task.description_revision).unwrap_or(0),
                fee_cents: task.fee_cents,
                reward_cents: task.reward_cents,
                created_at: Some(timestamp(task.created_at)),
            })
            .collect(),
    }
}
