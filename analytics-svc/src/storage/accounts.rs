//! Accounts and their roles, at the highest account revision heard.

use ates_token::Role;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::accounts;

/// An account's role at a revision, from a change event or a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFact {
    /// The account.
    pub account_id: Uuid,
    /// Its role at `revision`.
    pub role: Role,
    /// The account's revision.
    pub revision: i64,
}

/// Keeps each account's role unless a higher revision is known, in one statement (accounts in
/// id order, so concurrent writers cannot deadlock).
pub async fn apply(conn: &mut AsyncPgConnection, facts: &[AccountFact]) -> QueryResult<()> {
    let newest = super::newest(
        facts
            .iter()
            .map(|fact| (fact.account_id, fact.revision, fact.role)),
    );
    if newest.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = newest.keys().copied().collect();
    let roles: Vec<&str> = newest.values().map(|(_, role)| role.as_str()).collect();
    let revisions: Vec<i64> = newest.values().map(|(revision, _)| *revision).collect();
    diesel::sql_query(
        "INSERT INTO accounts (account_id, role, revision) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) \
         ON CONFLICT (account_id) DO UPDATE SET role = excluded.role, revision = excluded.revision \
         WHERE accounts.revision < excluded.revision",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<Text>, _>(&roles)
    .bind::<Array<BigInt>, _>(&revisions)
    .execute(conn)
    .await
    .map(drop)
}

/// How many accounts have `role` now.
pub async fn count_with_role(conn: &mut AsyncPgConnection, role: Role) -> QueryResult<i64> {
    accounts::table
        .filter(accounts::role.eq(role.as_str()))
        .count()
        .get_result(conn)
        .await
}
