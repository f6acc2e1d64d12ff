//! Every event accounting produces, built in one place.

use ates_contracts::ates::accounting::events::v1 as events;
use ates_contracts::time::timestamp;
use uuid::Uuid;

use crate::domain::{Kind, Posting};
use crate::storage::ledger::{BalanceRow, DateEarnings, RecordedEntry};

fn kind(kind: Kind) -> events::EntryKind {
    match kind {
        Kind::AssignmentFee => events::EntryKind::AssignmentFee,
        Kind::CompletionReward => events::EntryKind::CompletionReward,
        Kind::Payout => events::EntryKind::Payout,
    }
}

/// `AuditLogEntryCreated` (to analytics): the employee's entry of a new posting.
pub fn audit_log_entry_created(posting: &Posting, entry_id: Uuid) -> events::AuditLogEntryCreated {
    events::AuditLogEntryCreated {
        entry_id: entry_id.to_string(),
        account_id: posting.account().to_string(),
        task_id: posting
            .task_id()
            .map(|task| task.to_string())
            .unwrap_or_default(),
        amount_cents: posting.employee_leg().amount_cents,
        kind: kind(posting.kind()) as i32,
        business_date: posting.business_date().to_string(),
        occurred_at: Some(timestamp(posting.occurred_at())),
    }
}

/// `BillUpdated` (to payouts and analytics): an account's balance after a change of its
/// entries of one business date, with what it earned that date.
pub fn bill_updated(balance: &BalanceRow, date: &DateEarnings) -> events::BillUpdated {
    events::BillUpdated {
        account_id: balance.account_id.to_string(),
        balance_cents: balance.balance_cents,
        as_of: Some(timestamp(balance.updated_at)),
        revision: u64::try_from(balance.entry_count).unwrap_or(0),
        business_date: date.business_date.to_string(),
        date_earned_cents: date.earned_cents,
        date_earned_revision: u64::try_from(date.entries).unwrap_or(0),
    }
}

/// `BillsSnapshot` (snapshot event, to analytics): one batch of balances as they are now.
pub fn bills_snapshot(
    batch: ates_contracts::ates::events::v1::SnapshotBatch,
    balances: &[BalanceRow],
) -> events::BillsSnapshot {
    events::BillsSnapshot {
        batch: Some(batch),
        bills: balances
            .iter()
            .map(|balance| events::bills_snapshot::Bill {
                account_id: balance.account_id.to_string(),
                balance_cents: balance.balance_cents,
                as_of: Some(timestamp(balance.updated_at)),
                revision: u64::try_from(balance.entry_count).unwrap_or(0),
            })
            .collect(),
    }
}

/// `AuditLogSnapshot` (snapshot event, to analytics): one batch of recorded entries, each as its
/// `AuditLogEntryCreated` said.
pub fn audit_log_snapshot(
    batch: ates_contracts::ates::events::v1::SnapshotBatch,
    entries: &[RecordedEntry],
) -> events::AuditLogSnapshot {
    events::AuditLogSnapshot {
        batch: Some(batch),
        entries: entries
            .iter()
            .map(|entry| events::AuditLogEntryCreated {
                entry_id: entry.public_id.to_string(),
                account_id: entry
                    .account_id
                    .map(|account| account.to_string())
                    .unwrap_or_default(),
                task_id: entry
                    .task_id
                    .map(|task| task.to_string())
                    .unwrap_or_default(),
                amount_cents: entry.amount_cents,
                // The table's CHECK constraint allows no other kinds.
                kind: Kind::parse(&entry.kind).map_or(events::EntryKind::Unspecified, kind) as i32,
                business_date: entry.business_date.to_string(),
                occurred_at: Some(timestamp(entry.occurred_at)),
            })
            .collect(),
    }
}
