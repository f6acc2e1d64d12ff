//! Between the API's proto types and accounting's own; a bad field becomes INVALID_ARGUMENT
//! naming it.

use ates_contracts::ates::accounting::v1 as api;
use ates_contracts::time::timestamp;
use ates_server::paging::Page;
use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::{DayEarnings, Kind};
use crate::error::AccountingError;
use crate::storage::ledger::EntryRow;

/// Longest range of dates one earnings call covers.
pub(super) const MAX_RANGE_DAYS: i64 = 366;

pub(super) fn date(field: &'static str, raw: &str) -> Result<NaiveDate, AccountingError> {
    ates_calendar::parse_date(raw).map_err(|error| AccountingError::InvalidArgument {
        field,
        reason: error.to_string(),
    })
}

pub(super) fn account_id(raw: &str) -> Result<Uuid, AccountingError> {
    if raw.is_empty() {
        return Err(AccountingError::InvalidArgument {
            field: "account_id",
            reason: "must not be empty".to_owned(),
        });
    }
    Uuid::parse_str(raw).map_err(|_| AccountingError::InvalidArgument {
        field: "account_id",
        reason: "must be a UUID".to_owned(),
    })
}

/// An inclusive range of at most [`MAX_RANGE_DAYS`] days.
pub(super) fn range(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), AccountingError> {
    let from = date("from_date", from)?;
    let to = date("to_date", to)?;
    if to < from {
        return Err(AccountingError::InvalidArgument {
            field: "to_date",
            reason: "must not be before from_date".to_owned(),
        });
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(AccountingError::InvalidArgument {
            field: "to_date",
            reason: format!("the range may cover at most {MAX_RANGE_DAYS} days"),
        });
    }
    Ok((from, to))
}

pub(super) fn page(size: i32, token: &str) -> Result<Page, AccountingError> {
    Page::parse(size, token, 200, 1_000).map_err(|error| AccountingError::InvalidArgument {
        field: error.field,
        reason: error.reason,
    })
}

fn kind(raw: &str) -> api::EntryKind {
    match Kind::parse(raw) {
        Some(Kind::AssignmentFee) => api::EntryKind::AssignmentFee,
        Some(Kind::CompletionReward) => api::EntryKind::CompletionReward,
        Some(Kind::Payout) => api::EntryKind::Payout,
        None => api::EntryKind::Unspecified,
    }
}

pub(super) fn entry(row: EntryRow) -> api::Entry {
    api::Entry {
        entry_id: row.public_id.to_string(),
        kind: kind(&row.kind) as i32,
        amount_cents: row.amount_cents,
        task_id: row.task_id.map(|task| task.to_string()).unwrap_or_default(),
        task_description: row.task_description.unwrap_or_default(),
        business_date: row.business_date.to_string(),
        occurred_at: Some(timestamp(row.occurred_at)),
    }
}

pub(super) fn day(day: &DayEarnings) -> api::DayEarnings {
    api::DayEarnings {
        business_date: day.business_date.to_string(),
        fees_cents: day.fees_cents,
        rewards_cents: day.rewards_cents,
        earnings_cents: day.earnings_cents(),
    }
}
