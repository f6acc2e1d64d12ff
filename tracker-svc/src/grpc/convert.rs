//! Between the API's proto types and the tracker's own; a bad field becomes INVALID_ARGUMENT
//! naming it.

use ates_contracts::ates::tracker::v1 as api;
use ates_contracts::time::timestamp;
use uuid::Uuid;

use crate::domain::{Description, JiraId, TaskStatus, Title};
use crate::error::TrackerError;
use crate::storage::tasks::TaskRow;

pub(super) fn task(row: &TaskRow) -> api::Task {
    let details = row.details();
    api::Task {
        title: details.title,
        jira_id: details.jira_id.unwrap_or_default(),
        task_id: row.public_id.to_string(),
        description: row.description.clone(),
        status: match row.status {
            TaskStatus::Open => api::TaskStatus::Open,
            TaskStatus::Done => api::TaskStatus::Done,
        } as i32,
        assignee_id: row.assignee_id.to_string(),
        creator_id: row.creator_id.to_string(),
        fee_cents: row.fee_cents,
        reward_cents: row.reward_cents,
        created_at: Some(timestamp(row.created_at)),
        completed_at: row.completed_at.map(timestamp),
    }
}

pub(super) fn task_id(raw: &str) -> Result<Uuid, TrackerError> {
    Ok(ates_server::input::required_uuid("task_id", raw)?)
}

/// An optional idempotency key: empty means none.
pub(super) fn request_id(raw: &str) -> Result<Option<Uuid>, TrackerError> {
    Ok(ates_server::input::optional_uuid("request_id", raw)?)
}

pub(super) fn description(raw: &str) -> Result<Description, TrackerError> {
    Description::parse(raw).map_err(|error| TrackerError::InvalidArgument {
        field: "description",
        reason: error.to_string(),
    })
}

/// A title; empty is `None` (a client that sends none).
pub(super) fn optional_title(raw: &str) -> Result<Option<Title>, TrackerError> {
    if raw.is_empty() {
        return Ok(None);
    }
    title(raw).map(Some)
}

pub(super) fn title(raw: &str) -> Result<Title, TrackerError> {
    Title::parse(raw).map_err(|error| TrackerError::InvalidArgument {
        field: "title",
        reason: error.to_string(),
    })
}

/// A jira id; empty (or blank) is `None`.
pub(super) fn jira_id(raw: &str) -> Result<Option<JiraId>, TrackerError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    JiraId::parse(raw)
        .map(Some)
        .map_err(|error| TrackerError::InvalidArgument {
            field: "jira_id",
            reason: error.to_string(),
        })
}

pub(super) fn status_filter(raw: i32) -> Result<Option<TaskStatus>, TrackerError> {
    match api::TaskStatus::try_from(raw) {
        Ok(api::TaskStatus::Unspecified) => Ok(None),
        Ok(api::TaskStatus::Open) => Ok(Some(TaskStatus::Open)),
        Ok(api::TaskStatus::Done) => Ok(Some(TaskStatus::Done)),
        Err(_) => Err(TrackerError::InvalidArgument {
            field: "status",
            reason: "must be TASK_STATUS_UNSPECIFIED, TASK_STATUS_OPEN or TASK_STATUS_DONE"
                .to_owned(),
        }),
    }
}
