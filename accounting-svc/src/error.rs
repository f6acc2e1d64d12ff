//! Accounting's errors and their one mapping to gRPC statuses.

use ates_storage::DbError;
use tonic::Status;

use crate::domain::StatementRefused;

/// Why an accounting call failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountingError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Accounting knows no such account (it has no entry yet).
    #[error("account_id: accounting knows no account with this id")]
    AccountNotFound,
    /// The caller may not read this.
    #[error(transparent)]
    PermissionDenied(#[from] StatementRefused),
    /// The database failed the call.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A bug or an answer nobody expected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ates_server::input::InvalidField> for AccountingError {
    fn from(invalid: ates_server::input::InvalidField) -> Self {
        AccountingError::InvalidArgument {
            field: invalid.field,
            reason: invalid.reason,
        }
    }
}

impl From<diesel::result::Error> for AccountingError {
    fn from(error: diesel::result::Error) -> Self {
        AccountingError::Database(error.into())
    }
}

impl From<ates_messaging::OutboxError> for AccountingError {
    fn from(error: ates_messaging::OutboxError) -> Self {
        match error {
            ates_messaging::OutboxError::Database(error) => error.into(),
            other => AccountingError::Internal(other.to_string()),
        }
    }
}

impl From<AccountingError> for Status {
    fn from(error: AccountingError) -> Self {
        match &error {
            AccountingError::InvalidArgument { .. } => Status::invalid_argument(error.to_string()),
            AccountingError::AccountNotFound => Status::not_found(error.to_string()),
            AccountingError::PermissionDenied(_) => Status::permission_denied(error.to_string()),
            AccountingError::Database(error) => ates_server::database_status(error),
            AccountingError::Internal(reason) => ates_server::internal_status(reason),
        }
    }
}
