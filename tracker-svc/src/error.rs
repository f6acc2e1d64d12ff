//! The tracker's errors and their one mapping to gRPC statuses.

use ates_storage::DbError;
use tonic::Status;

use crate::domain::{CompletionRefused, DescriptionChangeRefused};

/// Why a tracker call failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No task has that id.
    #[error("task_id: no task with this id")]
    TaskNotFound,
    /// The caller's role or relation to the task does not allow this.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// The task or the system is not in a state that allows this.
    #[error("{0}")]
    FailedPrecondition(&'static str),
    /// The database failed the call.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A bug or an answer nobody expected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ates_server::input::InvalidField> for TrackerError {
    fn from(invalid: ates_server::input::InvalidField) -> Self {
        TrackerError::InvalidArgument {
            field: invalid.field,
            reason: invalid.reason,
        }
    }
}

impl From<diesel::result::Error> for TrackerError {
    fn from(error: diesel::result::Error) -> Self {
        TrackerError::Database(error.into())
    }
}

impl From<CompletionRefused> for TrackerError {
    fn from(refused: CompletionRefused) -> Self {
        match refused {
            CompletionRefused::NotTheAssignee => {
                TrackerError::PermissionDenied("only the task's current assignee may complete it")
            }
            CompletionRefused::AlreadyDone => {
                TrackerError::FailedPrecondition("the task is already done")
            }
        }
    }
}

impl From<DescriptionChangeRefused> for TrackerError {
    fn from(_: DescriptionChangeRefused) -> Self {
        TrackerError::PermissionDenied(
            "only the task's creator, managers and admins may change its description",
        )
    }
}

impl From<ates_messaging::OutboxError> for TrackerError {
    fn from(error: ates_messaging::OutboxError) -> Self {
        match error {
            ates_messaging::OutboxError::Database(error) => error.into(),
            other => TrackerError::Internal(other.to_string()),
        }
    }
}

impl From<TrackerError> for Status {
    fn from(error: TrackerError) -> Self {
        match &error {
            TrackerError::InvalidArgument { .. } => Status::invalid_argument(error.to_string()),
            TrackerError::TaskNotFound => Status::not_found(error.to_string()),
            TrackerError::PermissionDenied(_) => Status::permission_denied(error.to_string()),
            TrackerError::FailedPrecondition(_) => Status::failed_precondition(error.to_string()),
            TrackerError::Database(error) => ates_server::database_status(error),
            TrackerError::Internal(reason) => ates_server::internal_status(reason),
        }
    }
}
