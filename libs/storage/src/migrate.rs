//! Running migrations: several embedded sets, in order, in one `__diesel_schema_migrations` table.

use diesel::Connection as _;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// Applies the pending migrations of every set in `sets`, in order, to the database at
/// `database_url` (a service passes the outbox and inbox ones first, then its own). Refuses sets
/// that share a version. Runs on a blocking thread: diesel's migration harness is synchronous.
pub async fn migrate(
    database_url: &str,
    sets: Vec<&'static EmbeddedMigrations>,
) -> Result<(), MigrationError> {
    let database_url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        for (index, later) in sets.iter().enumerate() {
            for earlier in &sets[..index] {
                ensure_distinct_versions(earlier, later)?;
            }
        }
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&database_url)
            .map_err(|error| MigrationError::Connect(error.to_string()))?;
        for set in sets {
            conn.run_pending_migrations(StaticMigrations(set))
                .map_err(|error| MigrationError::Migrate(error.to_string()))?;
        }
        Ok(())
    })
    .await
    .map_err(|error| MigrationError::Migrate(error.to_string()))?
}

/// Fails when `later` has a migration with the version of one in `earlier`: both are recorded in
/// the same `__diesel_schema_migrations` table, so the later one would be silently skipped.
pub fn ensure_distinct_versions(
    earlier: &'static EmbeddedMigrations,
    later: &'static EmbeddedMigrations,
) -> Result<(), MigrationError> {
    let versions = |source: &'static EmbeddedMigrations| -> Result<Vec<String>, MigrationError> {
        Ok(MigrationSource::<Pg>::migrations(&StaticMigrations(source))
            .map_err(|error| MigrationError::Migrate(error.to_string()))?
            .iter()
            .map(|migration| migration.name().version().to_string())
            .collect())
    };
    let earlier = versions(earlier)?;
    if let Some(clash) = versions(later)?
        .into_iter()
        .find(|version| earlier.contains(version))
    {
        return Err(MigrationError::Migrate(format!(
            "the service migration version {clash} is also an outbox/inbox migration version; \
             give the service migration another timestamp"
        )));
    }
    Ok(())
}

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database could not be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(String),
}

/// Embedded migrations behind a `'static` reference, so a service's spec can hold them.
struct StaticMigrations(&'static EmbeddedMigrations);

impl MigrationSource<Pg> for StaticMigrations {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        MigrationSource::<Pg>::migrations(self.0)
    }
}
