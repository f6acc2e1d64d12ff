//! A fresh PostgreSQL database per test.

use anyhow::Context as _;

/// A database created for one test and dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates an empty database with a unique name on the shared server.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = std::env::var("ATES_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        Self::create_at(&admin_url).await
    }

    /// Creates an empty database with a unique name on the server of `admin_url` (a
    /// [`crate::PrivatePostgres`], say).
    pub async fn create_at(admin_url: &str) -> anyhow::Result<Self> {
        let admin_url = admin_url.to_owned();
        let name = format!("ates_test_{}", crate::unique_suffix());
        let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .with_context(|| {
                format!("cannot reach PostgreSQL at {admin_url} (set ATES_TEST_DATABASE_URL)")
            })?;
        let connection = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        drop(client);
        let _ = connection.await;
        let url = replace_database(&admin_url, &name);
        Ok(Self {
            name,
            url,
            admin_url,
        })
    }

    /// The URL of the test database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        crate::run_to_completion_elsewhere(async move {
            if let Ok((client, connection)) =
                tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
            {
                tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        });
    }
}

/// `url` with its database (the path) replaced by `database`.
pub(crate) fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let base = match base[scheme_end..].find('/') {
        Some(index) => &base[..scheme_end + index],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The number a counting query (`SELECT count(*) AS n ...`) answers on `pool`.
pub async fn count(pool: &ates_storage::DbPool, sql: &str) -> i64 {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = pool
        .get()
        .await
        .expect("a connection to the test's database");
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
        .n
}

/// The text column `value` of every row a query (`SELECT ... AS value ...`) answers on `pool`.
pub async fn texts(pool: &ates_storage::DbPool, sql: &str) -> Vec<String> {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut conn = pool
        .get()
        .await
        .expect("a connection to the test's database");
    diesel::sql_query(sql)
        .load::<Row>(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("`{sql}`: {error}"))
        .into_iter()
        .map(|row| row.value)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replacing_the_database_keeps_host_and_options() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
