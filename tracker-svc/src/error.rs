//! The tracker's errors and their one mapping to gRPC statuses.

use tonic::Status;

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
    /// The database is not reachable now.
    #[error("tracker is not ready: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database answer.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for TrackerError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager => TrackerError::Unavailable(error.to_string()),
            other => TrackerError::Internal(other.to_string()),
        }
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
            TrackerError::Unavailable(reason) => {
                tracing::warn!(reason = %reason, "tracker unavailable");
                Status::unavailable("the tracker cannot serve this call right now; try again")
            }
            TrackerError::Internal(reason) => {
                tracing::error!(reason = %reason, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// A pool that could not hand out a connection means the database is not reachable.
pub fn pool_error(error: impl std::fmt::Display) -> TrackerError {
    TrackerError::Unavailable(error.to_string())
}
