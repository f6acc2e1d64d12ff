//! payouts' copy of accounts: role and e-mail, each at the newest revision heard.

use std::collections::BTreeMap;

use ates_token::Role;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A fact about an account from one of auth's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountFact {
    /// Its role from `revision` on.
    Role {
        /// The account.
        account_id: Uuid,
        /// The role.
        role: Role,
        /// The account's revision in that event.
        revision: i64,
    },
    /// Its e-mail from `revision` on.
    Email {
        /// The account.
        account_id: Uuid,
        /// The normalised address.
        email: String,
        /// The account's revision in that event.
        revision: i64,
    },
}

/// Applies facts in two statements (roles, e-mails), each value only over an older revision; of
/// several facts about one account in `facts`, the newest of each kind wins. Accounts go in id
/// order, so concurrent writers cannot deadlock.
pub async fn apply(conn: &mut AsyncPgConnection, facts: &[AccountFact]) -> diesel::QueryResult<()> {
    let mut roles: BTreeMap<Uuid, (&str, i64)> = BTreeMap::new();
    let mut emails: BTreeMap<Uuid, (&str, i64)> = BTreeMap::new();
    for fact in facts {
        let (map, account_id, value, revision) = match fact {
            AccountFact::Role {
                account_id,
                role,
                revision,
            } => (&mut roles, account_id, role.as_str(), *revision),
            AccountFact::Email {
                account_id,
                email,
                revision,
            } => (&mut emails, account_id, email.as_str(), *revision),
        };
        if map
            .get(account_id)
            .is_none_or(|(_, known)| *known < revision)
        {
            map.insert(*account_id, (value, revision));
        }
    }
    for (column, map) in [("role", roles), ("email", emails)] {
        if map.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = map.keys().copied().collect();
        let values: Vec<&str> = map.values().map(|(value, _)| *value).collect();
        let revisions: Vec<i64> = map.values().map(|(_, revision)| *revision).collect();
        // `column` is one of two names written above, never input.
        diesel::sql_query(format!(
            "INSERT INTO accounts (account_id, {column}, {column}_revision) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[]) \
             ON CONFLICT (account_id) DO UPDATE SET {column} = excluded.{column}, \
             {column}_revision = excluded.{column}_revision \
             WHERE accounts.{column}_revision < excluded.{column}_revision"
        ))
        .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
        .bind::<Array<Text>, _>(&values)
        .bind::<Array<BigInt>, _>(&revisions)
        .execute(conn)
        .await?;
    }
    Ok(())
}
