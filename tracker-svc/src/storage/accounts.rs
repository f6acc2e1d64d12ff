//! The tracker's copy of accounts.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::accounts;

/// Records an account's role unless a newer revision is already known. Returns whether it did.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    public_id: Uuid,
    role: &str,
    revision: i64,
) -> QueryResult<bool> {
    let changed = diesel::sql_query(
        "INSERT INTO accounts (public_id, role, revision) VALUES ($1, $2, $3) \
         ON CONFLICT (public_id) DO UPDATE SET role = excluded.role, revision = excluded.revision \
         WHERE accounts.revision < excluded.revision",
    )
    .bind::<diesel::sql_types::Uuid, _>(public_id)
    .bind::<diesel::sql_types::Text, _>(role)
    .bind::<diesel::sql_types::BigInt, _>(revision)
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

/// Every account that may be assigned tasks.
pub async fn eligible(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Uuid>> {
    accounts::table
        .filter(accounts::role.eq_any(["worker", "accountant"]))
        .select(accounts::public_id)
        .order(accounts::public_id)
        .load(conn)
        .await
}
