//! analytics' errors and their one mapping to gRPC statuses.

use ates_storage::DbError;
use tonic::Status;

/// Why an analytics call failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The database failed the call.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A bug or an answer nobody expected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ates_server::input::InvalidField> for AnalyticsError {
    fn from(invalid: ates_server::input::InvalidField) -> Self {
        AnalyticsError::InvalidArgument {
            field: invalid.field,
            reason: invalid.reason,
        }
    }
}

impl From<diesel::result::Error> for AnalyticsError {
    fn from(error: diesel::result::Error) -> Self {
        AnalyticsError::Database(error.into())
    }
}

impl From<ates_messaging::OutboxError> for AnalyticsError {
    fn from(error: ates_messaging::OutboxError) -> Self {
        match error {
            ates_messaging::OutboxError::Database(error) => error.into(),
            other => AnalyticsError::Internal(other.to_string()),
        }
    }
}

impl From<AnalyticsError> for Status {
    fn from(error: AnalyticsError) -> Self {
        match error {
            AnalyticsError::InvalidArgument { .. } => Status::invalid_argument(error.to_string()),
            AnalyticsError::Database(error) => ates_server::database_status(&error),
            AnalyticsError::Internal(message) => ates_server::internal_status(&message),
        }
    }
}
