//! auth's errors and their one mapping to gRPC statuses. Internal details are logged, never sent
//! to the caller.

use ates_storage::DbError;
use tonic::Status;

use crate::domain::{RoleChangeRefused, SealError};
use crate::operations::KeyError;

/// The unique index that makes an email belong to one account.
const EMAIL_UNIQUE: &str = "accounts_email_key";

/// Why an auth call failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A request field is missing or malformed.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The email belongs to another account.
    #[error("email: an account with this email already exists")]
    EmailTaken,
    /// No account has that id.
    #[error("account_id: no account with this id")]
    AccountNotFound,
    /// The beak signs nobody in. Says nothing about whether an account exists.
    #[error("the beak is not valid")]
    BadBeak,
    /// Too many failed sign-ins from this client.
    #[error("too many failed sign-ins; try again in {retry_after_seconds} s")]
    Throttled {
        /// Seconds until the client may try again.
        retry_after_seconds: u64,
    },
    /// The role change is against the rules.
    #[error(transparent)]
    RoleChange(#[from] RoleChangeRefused),
    /// The database failed the call.
    #[error(transparent)]
    Database(DbError),
    /// Anything else: a bug, or keys that do not open.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ates_server::input::InvalidField> for AuthError {
    fn from(invalid: ates_server::input::InvalidField) -> Self {
        AuthError::InvalidArgument {
            field: invalid.field,
            reason: invalid.reason,
        }
    }
}

impl From<DbError> for AuthError {
    fn from(error: DbError) -> Self {
        if error.violates(EMAIL_UNIQUE) {
            AuthError::EmailTaken
        } else {
            AuthError::Database(error)
        }
    }
}

impl From<diesel::result::Error> for AuthError {
    fn from(error: diesel::result::Error) -> Self {
        DbError::from(error).into()
    }
}

impl From<KeyError> for AuthError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Database(error) => AuthError::Database(error),
            KeyError::Seal(error @ (SealError::Seal(_) | SealError::Undecryptable { .. })) => {
                AuthError::Internal(error.to_string())
            }
        }
    }
}

impl From<ates_messaging::OutboxError> for AuthError {
    fn from(error: ates_messaging::OutboxError) -> Self {
        match error {
            ates_messaging::OutboxError::Database(error) => error.into(),
            other => AuthError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        match &error {
            AuthError::InvalidArgument { .. } => Status::invalid_argument(error.to_string()),
            AuthError::EmailTaken => Status::already_exists(error.to_string()),
            AuthError::AccountNotFound => Status::not_found(error.to_string()),
            AuthError::BadBeak => Status::unauthenticated(error.to_string()),
            AuthError::Throttled { .. } => Status::resource_exhausted(error.to_string()),
            AuthError::RoleChange(_) => Status::failed_precondition(error.to_string()),
            AuthError::Database(error) => ates_server::database_status(error),
            AuthError::Internal(reason) => ates_server::internal_status(reason),
        }
    }
}
