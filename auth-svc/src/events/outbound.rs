//! Every event auth produces, built in one place from its stored accounts.
//!
//! Account events carry no personal data except `AccountEmailSet`, which the routing table sends
//! to payouts alone.

use ates_contracts::ates::auth::events::v1 as events;
use ates_contracts::time::timestamp;
use ates_token::Role;

use crate::storage::accounts::AccountRow;

fn role(role: Role) -> events::AccountRole {
    match role {
        Role::Admin => events::AccountRole::Admin,
        Role::Manager => events::AccountRole::Manager,
        Role::Accountant => events::AccountRole::Accountant,
        Role::Worker => events::AccountRole::Worker,
    }
}

fn revision(row: &AccountRow) -> u64 {
    u64::try_from(row.revision).unwrap_or(0)
}

/// `AccountCreated`: an account exists, with its role.
pub fn account_created(row: &AccountRow) -> events::AccountCreated {
    events::AccountCreated {
        account_id: row.public_id.to_string(),
        role: role(row.role()) as i32,
        revision: revision(row),
        created_at: Some(timestamp(row.created_at)),
    }
}

/// `AccountRoleChanged`: the account's role from now on.
pub fn account_role_changed(row: &AccountRow) -> events::AccountRoleChanged {
    events::AccountRoleChanged {
        account_id: row.public_id.to_string(),
        role: role(row.role()) as i32,
        revision: revision(row),
    }
}

/// `AccountEmailSet`: the account's e-mail from now on (to payouts only).
pub fn account_email_set(row: &AccountRow) -> events::AccountEmailSet {
    events::AccountEmailSet {
        account_id: row.public_id.to_string(),
        email: row.email.clone(),
        revision: revision(row),
    }
}

/// `AccountsSnapshot` (snapshot event, to analytics): one batch of accounts as they are now.
pub fn accounts_snapshot(
    batch: ates_contracts::ates::events::v1::SnapshotBatch,
    rows: &[AccountRow],
) -> events::AccountsSnapshot {
    events::AccountsSnapshot {
        batch: Some(batch),
        accounts: rows
            .iter()
            .map(|row| events::accounts_snapshot::Account {
                account_id: row.public_id.to_string(),
                role: role(row.role()) as i32,
                revision: revision(row),
                created_at: Some(timestamp(row.created_at)),
            })
            .collect(),
    }
}
