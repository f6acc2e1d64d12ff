//! PostgreSQL for aTES services: the connection pool, the one classification of database errors
//! that both gRPC handlers and event consumers use, migrations, and pruning of expiring rows.
//!
//! A database error is one of four things ([`DbError`]): the database is unreachable now, the
//! transaction lost a race with another (both worth retrying), a constraint refused the change,
//! or anything else. Callers map the first two to a retryable gRPC status or a transient handler
//! error, name the constraints that are the caller's doing, and treat the rest as internal.

mod error;
mod migrate;
mod retention;

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};

pub use error::{ConstraintKind, DbError};
pub use migrate::{MigrationError, ensure_distinct_versions, migrate};
pub use retention::{PRUNE_BATCH, PruneError, cutoff, prune_before};

/// The connection pool every aTES service uses.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection taken from a [`DbPool`]; it goes back when dropped.
pub type DbConnection = Object<AsyncPgConnection>;

/// A lazy pool of at most `max_size` connections to `database_url`: nothing connects until the
/// first checkout, so an unreachable database delays work instead of failing start-up.
pub fn pool(database_url: &str, max_size: usize) -> Result<DbPool, DbError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|error| DbError::Other(format!("cannot build the connection pool: {error}")))
}

/// A connection from `pool`; [`DbError::Unavailable`] when none can be had in time.
pub async fn connection(pool: &DbPool) -> Result<DbConnection, DbError> {
    pool.get().await.map_err(DbError::from)
}
