//! payouts' errors and their one mapping to gRPC statuses.

use ates_storage::DbError;
use chrono::NaiveDate;
use tonic::Status;

/// Why a payouts call failed.
#[derive(Debug, thiserror::Error)]
pub enum PayoutsError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process is closing and did not finish in time.
    #[error("another close is running; try again shortly")]
    CloseRunning,
    /// More dates were never closed than one close covers.
    #[error(
        "more than {count} business dates from {first} were never closed; close an earlier date first"
    )]
    TooManyDates {
        /// The first date never closed.
        first: NaiveDate,
        /// The most dates one close covers.
        count: usize,
    },
    /// The database failed the call.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A bug or an answer nobody expected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ates_server::input::InvalidField> for PayoutsError {
    fn from(invalid: ates_server::input::InvalidField) -> Self {
        PayoutsError::InvalidArgument {
            field: invalid.field,
            reason: invalid.reason,
        }
    }
}

impl From<diesel::result::Error> for PayoutsError {
    fn from(error: diesel::result::Error) -> Self {
        PayoutsError::Database(error.into())
    }
}

impl From<ates_messaging::OutboxError> for PayoutsError {
    fn from(error: ates_messaging::OutboxError) -> Self {
        match error {
            ates_messaging::OutboxError::Database(error) => error.into(),
            other => PayoutsError::Internal(other.to_string()),
        }
    }
}

impl From<PayoutsError> for Status {
    fn from(error: PayoutsError) -> Self {
        match &error {
            PayoutsError::InvalidArgument { .. } => Status::invalid_argument(error.to_string()),
            PayoutsError::CloseRunning => Status::unavailable(error.to_string()),
            PayoutsError::TooManyDates { .. } => Status::failed_precondition(error.to_string()),
            PayoutsError::Database(error) => ates_server::database_status(error),
            PayoutsError::Internal(reason) => ates_server::internal_status(reason),
        }
    }
}
