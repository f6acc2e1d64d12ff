//! Between the API's proto types and accounting's own; a bad field becomes INVALID_ARGUMENT
//! naming it.

use ates_contracts::ates::accounting::v1 as api;
use ates_contracts::time::timestamp;
use ates_server::paging::{Page, PageSizes};
use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::{DayEarnings, Kind};
use crate::error::AccountingError;
use crate::storage::ledger::EntryRow;

/// Longest range of dates one earnings call covers.
pub(super) const MAX_RANGE_DAYS: i64 = 366;

pub(super) fn date(field: &'static str, raw: &str) -> Result<NaiveDate, AccountingError> {
    Ok(ates_server::input::date(field, raw)?)
}

pub(super) fn account_id(raw: &str) -> Result<Uuid, AccountingError> {
    Ok(ates_server::input::required_uuid("account_id", raw)?)
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

/// A page of the list `scope` names (method and filters).
pub(super) fn page(size: i32, token: &str, scope: String) -> Result<Page, AccountingError> {
    const SIZES: PageSizes = PageSizes {
        default: 200,
        max: 1_000,
    };
    Ok(Page::parse(size, token, SIZES, scope)?)
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
        task_title: row.task_title.unwrap_or_default(),
        task_jira_id: row.task_jira_id.unwrap_or_default(),
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
