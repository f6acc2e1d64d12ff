//! The gRPC status of failures that are not the caller's doing, the same in every service.

use ates_storage::DbError;
use tonic::Status;

/// The status a caller gets when the database failed its call: UNAVAILABLE when the database
/// cannot be reached (try again later), ABORTED when the call lost a race with another (try
/// again now), INTERNAL otherwise. The details are logged here and never sent.
pub fn database_status(error: &DbError) -> Status {
    match error {
        DbError::Unavailable(reason) => {
            tracing::warn!(reason = %reason, "database unavailable");
            Status::unavailable("the service cannot reach its database right now; try again")
        }
        DbError::Conflict(reason) => {
            tracing::info!(reason = %reason, "call conflicted with another");
            Status::aborted("the call conflicted with a concurrent change; try it again")
        }
        DbError::Constraint { .. } | DbError::Other(_) => internal_status(error),
    }
}

/// INTERNAL, with `detail` logged and never sent.
pub fn internal_status(detail: &dyn std::fmt::Display) -> Status {
    tracing::error!(reason = %detail, "internal error");
    Status::internal("internal error")
}
