//! Running a service's migrations: the outbox and inbox first, then the service's own.

use diesel::Connection as _;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// Applies the pending migrations of the outbox and inbox ([`crate::MIGRATIONS`]) and then
/// `service_migrations` to the database at `database_url`. Runs on a blocking thread: diesel's
/// migration harness is synchronous.
pub async fn migrate(
    database_url: &str,
    service_migrations: Option<&'static EmbeddedMigrations>,
) -> Result<(), MigrationError> {
    let database_url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&database_url)
            .map_err(|error| MigrationError::Connect(error.to_string()))?;
        if let Some(migrations) = service_migrations {
            ensure_distinct_versions(&crate::MIGRATIONS, migrations)?;
        }
        conn.run_pending_migrations(StaticMigrations(&crate::MIGRATIONS))
            .map_err(|error| MigrationError::Migrate(error.to_string()))?;
        if let Some(migrations) = service_migrations {
            conn.run_pending_migrations(StaticMigrations(migrations))
                .map_err(|error| MigrationError::Migrate(error.to_string()))?;
        }
        Ok(())
    })
    .await
    .map_err(|error| MigrationError::Migrate(error.to_string()))?
}

/// Fails when a service migration has the version of a shared one: both are recorded in the
/// same `__diesel_schema_migrations` table, so the later one would be silently skipped.
pub fn ensure_distinct_versions(
    shared: &'static EmbeddedMigrations,
    service: &'static EmbeddedMigrations,
) -> Result<(), MigrationError> {
    let versions = |source: &'static EmbeddedMigrations| -> Result<Vec<String>, MigrationError> {
        Ok(MigrationSource::<Pg>::migrations(&StaticMigrations(source))
            .map_err(|error| MigrationError::Migrate(error.to_string()))?
            .iter()
            .map(|migration| migration.name().version().to_string())
            .collect())
    };
    let shared = versions(shared)?;
    if let Some(clash) = versions(service)?
        .into_iter()
        .find(|version| shared.contains(version))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_migration_with_a_shared_version_is_refused_naming_it() {
        let error = ensure_distinct_versions(&crate::MIGRATIONS, &crate::MIGRATIONS).unwrap_err();
        assert!(error.to_string().contains("20261125000000"), "{error}");
    }
}
