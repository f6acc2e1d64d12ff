//! Balances now, at the highest revision (the account's entry count) heard.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::balances;

/// An account's balance at a revision, from `BillUpdated` or a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceFact {
    /// The account.
    pub account_id: Uuid,
    /// Its balance in cents.
    pub balance_cents: i64,
    /// How many entries the balance includes; only grows.
    pub revision: i64,
}

/// Keeps each account's balance unless a higher revision is known, in one statement.
pub async fn apply(conn: &mut AsyncPgConnection, facts: &[BalanceFact]) -> QueryResult<()> {
    let newest = super::newest(
        facts
            .iter()
            .map(|fact| (fact.account_id, fact.revision, fact.balance_cents)),
    );
    if newest.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = newest.keys().copied().collect();
    let cents: Vec<i64> = newest.values().map(|(_, cents)| *cents).collect();
    let revisions: Vec<i64> = newest.values().map(|(revision, _)| *revision).collect();
    diesel::sql_query(
        "INSERT INTO balances (account_id, balance_cents, revision) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) \
         ON CONFLICT (account_id) DO UPDATE SET \
         balance_cents = excluded.balance_cents, revision = excluded.revision \
         WHERE balances.revision < excluded.revision",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<BigInt>, _>(&cents)
    .bind::<Array<BigInt>, _>(&revisions)
    .execute(conn)
    .await
    .map(drop)
}

/// How many accounts have a negative balance now.
pub async fn negative_count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    balances::table
        .filter(balances::balance_cents.lt(0))
        .count()
        .get_result(conn)
        .await
}
