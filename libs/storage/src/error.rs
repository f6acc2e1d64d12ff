//! What went wrong in the database, in the terms callers act on.

use diesel::result::{DatabaseErrorKind, Error};

/// Which kind of constraint refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// A unique index or primary key.
    Unique,
    /// A foreign key.
    ForeignKey,
    /// A `NOT NULL` column.
    NotNull,
    /// A `CHECK` constraint.
    Check,
}

/// A database error, classified once for gRPC handlers and event consumers alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached now (a lost or refused connection, no connection free in
    /// the pool in time). Retrying later can succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The transaction lost a race with another (a serialization failure, a deadlock, a lock
    /// that could not be had in time). Retrying the whole transaction can succeed.
    #[error("the transaction conflicted with another: {0}")]
    Conflict(String),
    /// A constraint refused the change. Whether that is the caller's doing depends on the
    /// constraint: services name the ones they expect ([`DbError::violates`]).
    #[error("constraint {} refused the change: {message}", constraint.as_deref().unwrap_or("(unnamed)"))]
    Constraint {
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// Its name, when PostgreSQL gave one.
        constraint: Option<String>,
        /// PostgreSQL's message.
        message: String,
    },
    /// Anything else: a bug, or an answer nobody expected.
    #[error("database error: {0}")]
    Other(String),
}

impl DbError {
    /// Whether trying again later can succeed ([`DbError::Unavailable`] or [`DbError::Conflict`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, DbError::Unavailable(_) | DbError::Conflict(_))
    }

    /// Whether this is a violation of the constraint named `name`.
    pub fn violates(&self, name: &str) -> bool {
        matches!(self, DbError::Constraint { constraint: Some(constraint), .. } if constraint == name)
    }
}

/// PostgreSQL's messages for conditions diesel has no kind for: a deadlock (40P01) and a lock not
/// granted in time (55P03, `lock_timeout`). diesel-async does not pass SQLSTATEs on, so these are
/// matched by message (PostgreSQL's `lc_messages` must be English, its default).
const CONFLICT_MESSAGES: &[&str] = &[
    "deadlock detected",
    "canceling statement due to lock timeout",
    "could not obtain lock",
];

/// PostgreSQL's messages when the server goes away or is not ready (57P01, 57P02, 57P03) or a
/// statement ran out of time (57014).
const UNAVAILABLE_MESSAGES: &[&str] = &[
    "terminating connection",
    "the database system is",
    "canceling statement due to statement timeout",
    "server closed the connection",
];

impl From<Error> for DbError {
    fn from(error: Error) -> Self {
        match &error {
            // diesel-async reports every error without a SQLSTATE (a reset or closed socket, a
            // server that went away mid-statement) as UnableToSendCommand.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | Error::BrokenTransactionManager => DbError::Unavailable(error.to_string()),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                DbError::Conflict(error.to_string())
            }
            Error::DatabaseError(kind, information) => {
                let constraint = |kind| DbError::Constraint {
                    kind,
                    constraint: information.constraint_name().map(str::to_owned),
                    message: information.message().to_owned(),
                };
                match kind {
                    DatabaseErrorKind::UniqueViolation => constraint(ConstraintKind::Unique),
                    DatabaseErrorKind::ForeignKeyViolation => {
                        constraint(ConstraintKind::ForeignKey)
                    }
                    DatabaseErrorKind::NotNullViolation => constraint(ConstraintKind::NotNull),
                    DatabaseErrorKind::CheckViolation => constraint(ConstraintKind::Check),
                    _ if CONFLICT_MESSAGES
                        .iter()
                        .any(|message| information.message().starts_with(message)) =>
                    {
                        DbError::Conflict(error.to_string())
                    }
                    _ if UNAVAILABLE_MESSAGES
                        .iter()
                        .any(|message| information.message().starts_with(message)) =>
                    {
                        DbError::Unavailable(error.to_string())
                    }
                    _ => DbError::Other(error.to_string()),
                }
            }
            _ => DbError::Other(error.to_string()),
        }
    }
}

impl<E: std::fmt::Display> From<deadpool::managed::PoolError<E>> for DbError {
    fn from(error: deadpool::managed::PoolError<E>) -> Self {
        // Every pool error (a timeout, a connection that could not be made) means the database
        // cannot be had now.
        DbError::Unavailable(format!("no database connection: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Information {
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl diesel::result::DatabaseErrorInformation for Information {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn database(
        kind: DatabaseErrorKind,
        message: &'static str,
        constraint: Option<&'static str>,
    ) -> DbError {
        DbError::from(Error::DatabaseError(
            kind,
            Box::new(Information {
                message,
                constraint,
            }),
        ))
    }

    #[test]
    fn lost_connections_and_lost_races_are_retryable_and_nothing_else_is() {
        // What diesel-async gives for a socket the server closed.
        let closed = database(
            DatabaseErrorKind::UnableToSendCommand,
            "connection closed",
            None,
        );
        assert!(matches!(closed, DbError::Unavailable(_)));
        let shutdown = database(
            DatabaseErrorKind::Unknown,
            "terminating connection due to administrator command",
            None,
        );
        assert!(matches!(shutdown, DbError::Unavailable(_)));
        let starting = database(
            DatabaseErrorKind::Unknown,
            "the database system is starting up",
            None,
        );
        assert!(matches!(starting, DbError::Unavailable(_)));
        assert!(DbError::from(Error::BrokenTransactionManager).is_retryable());
        let serialization = database(
            DatabaseErrorKind::SerializationFailure,
            "could not serialize",
            None,
        );
        assert!(matches!(serialization, DbError::Conflict(_)));
        let deadlock = database(DatabaseErrorKind::Unknown, "deadlock detected", None);
        assert!(matches!(deadlock, DbError::Conflict(_)));
        let lock_timeout = database(
            DatabaseErrorKind::Unknown,
            "canceling statement due to lock timeout",
            None,
        );
        assert!(lock_timeout.is_retryable());
        for error in [
            closed,
            shutdown,
            starting,
            serialization,
            deadlock,
            lock_timeout,
        ] {
            assert!(error.is_retryable(), "{error}");
        }
        let syntax = database(DatabaseErrorKind::Unknown, "syntax error at or near", None);
        assert!(matches!(syntax, DbError::Other(_)));
        assert!(!syntax.is_retryable());
        assert!(!DbError::from(Error::NotFound).is_retryable());
    }

    #[test]
    fn constraint_violations_keep_their_kind_and_name() {
        let taken = database(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key",
            Some("accounts_email_key"),
        );
        assert!(taken.violates("accounts_email_key"));
        assert!(!taken.violates("another_key"));
        assert!(matches!(
            taken,
            DbError::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
        ));
        assert!(!taken.is_retryable());
        let check = database(
            DatabaseErrorKind::CheckViolation,
            "violates check",
            Some("tasks_fee_check"),
        );
        assert!(matches!(
            check,
            DbError::Constraint {
                kind: ConstraintKind::Check,
                ..
            }
        ));
        let unnamed = database(DatabaseErrorKind::NotNullViolation, "null value", None);
        assert!(!unnamed.violates(""));
        assert!(unnamed.to_string().contains("(unnamed)"));
    }
}
