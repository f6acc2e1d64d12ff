//! Running a service's migrations: the outbox and inbox first, then the service's own.

use diesel_migrations::EmbeddedMigrations;

pub use ates_storage::MigrationError;

/// Applies the pending migrations of the outbox and inbox ([`crate::MIGRATIONS`]) and then
/// `service_migrations` to the database at `database_url`, refusing a service migration whose
/// version clashes with a shared one (it would be silently skipped).
pub async fn migrate(
    database_url: &str,
    service_migrations: Option<&'static EmbeddedMigrations>,
) -> Result<(), MigrationError> {
    let mut sets = vec![&crate::MIGRATIONS];
    sets.extend(service_migrations);
    ates_storage::migrate(database_url, sets).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_service_migration_with_a_shared_version_is_refused_naming_it() {
        let error = ates_storage::ensure_distinct_versions(&crate::MIGRATIONS, &crate::MIGRATIONS)
            .unwrap_err();
        assert!(error.to_string().contains("20261125000000"), "{error}");
    }
}
