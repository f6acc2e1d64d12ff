//! The accounts table.

use ates_token::Role;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::accounts;

/// One account as stored (the beak digest is never read back out).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    /// Internal row id; never leaves auth.
    pub id: i64,
    /// Public id.
    pub public_id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Role as stored (`"worker"`, ...).
    pub role: String,
    /// Revision, increased by every change.
    pub revision: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl AccountRow {
    /// The role; the table's CHECK constraint allows no other values.
    pub fn role(&self) -> Role {
        Role::parse(&self.role)
            .unwrap_or_else(|| unreachable!("the accounts table holds role `{}`", self.role))
    }
}

/// Inserts an account; a taken email is a `UniqueViolation` on `accounts_email_key`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    email: &str,
    role: Role,
    beak_digest: &[u8],
) -> QueryResult<AccountRow> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::public_id.eq(Uuid::new_v4()),
            accounts::email.eq(email),
            accounts::role.eq(role.as_str()),
            accounts::beak_digest.eq(beak_digest),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await
}

/// The account whose beak has this digest.
pub async fn find_by_beak_digest(
    conn: &mut AsyncPgConnection,
    digest: &[u8],
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::beak_digest.eq(digest))
        .select(AccountRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The account with this public id.
pub async fn find(
    conn: &mut AsyncPgConnection,
    public_id: Uuid,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::public_id.eq(public_id))
        .select(AccountRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The account with this public id, locked until the transaction ends.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    public_id: Uuid,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::public_id.eq(public_id))
        .select(AccountRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Sets the role and bumps the revision.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    id: i64,
    role: Role,
) -> QueryResult<AccountRow> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::role.eq(role.as_str()),
            accounts::revision.eq(accounts::revision + 1),
            accounts::updated_at.eq(Utc::now()),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await
}

/// Sets the email and bumps the revision.
pub async fn set_email(
    conn: &mut AsyncPgConnection,
    id: i64,
    email: &str,
) -> QueryResult<AccountRow> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::email.eq(email),
            accounts::revision.eq(accounts::revision + 1),
            accounts::updated_at.eq(Utc::now()),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the beak digest.
pub async fn set_beak_digest(
    conn: &mut AsyncPgConnection,
    id: i64,
    digest: &[u8],
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::beak_digest.eq(digest),
            accounts::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// How many admins there are.
pub async fn count_admins(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    accounts::table
        .filter(accounts::role.eq(Role::Admin.as_str()))
        .count()
        .get_result(conn)
        .await
}

/// Up to `limit` accounts after the row `after` (oldest first).
pub async fn page(
    conn: &mut AsyncPgConnection,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AccountRow>> {
    accounts::table
        .filter(accounts::id.gt(after.unwrap_or(0)))
        .select(AccountRow::as_select())
        .order(accounts::id)
        .limit(limit)
        .load(conn)
        .await
}

/// Takes a transaction-scoped advisory lock: concurrent holders of `key` wait for each other.
pub async fn advisory_lock(conn: &mut AsyncPgConnection, key: i64) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .execute(conn)
        .await
        .map(drop)
}
