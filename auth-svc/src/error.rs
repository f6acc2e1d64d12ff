//! auth's errors and their one mapping to gRPC statuses. Internal details are logged here, never
//! sent to the caller.

use tonic::Status;

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
    /// The change would leave aTES without an admin.
    #[error("the last admin cannot stop being an admin")]
    LastAdmin,
    /// The database or the keys are not reachable now.
    #[error("auth is not ready: {0}")]
    Unavailable(String),
    /// Anything else: a bug or an unexpected database answer.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for AuthError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, information)
                if information.constraint_name() == Some("accounts_email_key") =>
            {
                AuthError::EmailTaken
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::BrokenTransactionManager => AuthError::Unavailable(error.to_string()),
            _ => AuthError::Internal(error.to_string()),
        }
    }
}

impl From<crate::keys::KeyError> for AuthError {
    fn from(error: crate::keys::KeyError) -> Self {
        match error {
            crate::keys::KeyError::Database(reason) => AuthError::Unavailable(reason),
            undecryptable @ crate::keys::KeyError::Undecryptable { .. } => {
                AuthError::Internal(undecryptable.to_string())
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
            AuthError::LastAdmin => Status::failed_precondition(error.to_string()),
            AuthError::Unavailable(reason) => {
                tracing::warn!(reason = %reason, "auth unavailable");
                Status::unavailable("auth cannot serve this call right now; try again")
            }
            AuthError::Internal(reason) => {
                tracing::error!(reason = %reason, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// A pool that could not hand out a connection means the database is not reachable.
pub fn pool_error(error: impl std::fmt::Display) -> AuthError {
    AuthError::Unavailable(error.to_string())
}
