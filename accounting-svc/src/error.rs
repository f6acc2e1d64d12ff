//! Accounting's errors and their one mapping to gRPC statuses.

use tonic::Status;

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
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// The database is not reachable now.
    #[error("accounting is not ready: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database answer.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for AccountingError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager => AccountingError::Unavailable(error.to_string()),
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
            AccountingError::Unavailable(reason) => {
                tracing::warn!(reason = %reason, "accounting unavailable");
                Status::unavailable("accounting cannot serve this call right now; try again")
            }
            AccountingError::Internal(reason) => {
                tracing::error!(reason = %reason, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
