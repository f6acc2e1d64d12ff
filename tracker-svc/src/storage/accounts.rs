//! The tracker's copy of accounts.

use std::collections::BTreeMap;

use ates_token::Role;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::accounts;

/// An account's role at a revision, as auth announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRole {
    /// Public id of the account.
    pub public_id: Uuid,
    /// Its role from that revision on.
    pub role: Role,
    /// The account's revision.
    pub revision: i64,
}

/// Records each account's role unless a newer revision is already known, in one statement; of
/// several revisions of one account in `accounts` the newest wins. Accounts go in in id order,
/// so that concurrent writers cannot deadlock.
pub async fn upsert(conn: &mut AsyncPgConnection, accounts: &[AccountRole]) -> QueryResult<()> {
    let mut newest: BTreeMap<Uuid, AccountRole> = BTreeMap::new();
    for account in accounts {
        if newest
            .get(&account.public_id)
            .is_none_or(|known| known.revision < account.revision)
        {
            newest.insert(account.public_id, *account);
        }
    }
    if newest.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = newest.keys().copied().collect();
    let roles: Vec<&str> = newest
        .values()
        .map(|account| account.role.as_str())
        .collect();
    let revisions: Vec<i64> = newest.values().map(|account| account.revision).collect();
    diesel::sql_query(
        "INSERT INTO accounts (public_id, role, revision) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) \
         ON CONFLICT (public_id) DO UPDATE SET role = excluded.role, revision = excluded.revision \
         WHERE accounts.revision < excluded.revision",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(&roles)
    .bind::<Array<BigInt>, _>(&revisions)
    .execute(conn)
    .await
    .map(drop)
}

/// Every account whose role is one of `roles` (the ones that may be assigned tasks).
pub async fn with_roles(conn: &mut AsyncPgConnection, roles: &[Role]) -> QueryResult<Vec<Uuid>> {
    let roles: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    accounts::table
        .filter(accounts::role.eq_any(roles))
        .select(accounts::public_id)
        .order(accounts::public_id)
        .load(conn)
        .await
}
