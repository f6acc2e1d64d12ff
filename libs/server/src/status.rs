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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_is_away_or_a_lost_race_is_retryable_and_nothing_leaks() {
        let away = database_status(&DbError::Unavailable(
            "connection refused at 10.0.0.5".into(),
        ));
        assert_eq!(away.code(), tonic::Code::Unavailable);
        let raced = database_status(&DbError::Conflict("deadlock detected".into()));
        assert_eq!(raced.code(), tonic::Code::Aborted);
        let broken = database_status(&DbError::Other("syntax error in SELECT secret".into()));
        assert_eq!(broken.code(), tonic::Code::Internal);
        let constraint = database_status(&DbError::Constraint {
            kind: ates_storage::ConstraintKind::Check,
            constraint: Some("tasks_fee_check".into()),
            message: "violates".into(),
        });
        assert_eq!(constraint.code(), tonic::Code::Internal);
        for status in [away, raced, broken, constraint] {
            for secret in ["10.0.0.5", "deadlock", "secret", "tasks_fee_check"] {
                assert!(
                    !status.message().contains(secret),
                    "{status:?} leaks {secret}"
                );
            }
        }
    }
}
