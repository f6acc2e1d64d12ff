//! Between the API's proto types and analytics' own; a bad field becomes INVALID_ARGUMENT naming
//! it.

use ates_contracts::ates::analytics::v1 as api;
use ates_contracts::time::timestamp;
use chrono::NaiveDate;

use crate::domain::{DateRange, Period};
use crate::error::AnalyticsError;
use crate::operations::{ResyncRequest, Summary};
use crate::storage::entries::DayWinner;

fn invalid(field: &'static str, reason: impl Into<String>) -> AnalyticsError {
    AnalyticsError::InvalidArgument {
        field,
        reason: reason.into(),
    }
}

pub(super) fn period(raw: i32) -> Result<Period, AnalyticsError> {
    match api::Period::try_from(raw) {
        Ok(api::Period::Day) => Ok(Period::Day),
        Ok(api::Period::Week) => Ok(Period::Week),
        Ok(api::Period::Month) => Ok(Period::Month),
        Ok(api::Period::Unspecified) => Err(invalid(
            "period",
            "is required: PERIOD_DAY, PERIOD_WEEK or PERIOD_MONTH",
        )),
        Err(_) => Err(invalid("period", format!("{raw} is not a period"))),
    }
}

/// `end_date`, or `today` when empty.
pub(super) fn end_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, AnalyticsError> {
    if raw.is_empty() {
        return Ok(today);
    }
    Ok(ates_server::input::date("end_date", raw)?)
}

pub(super) fn series_range(from: &str, to: &str) -> Result<DateRange, AnalyticsError> {
    let first = ates_server::input::date("from_date", from)?;
    let last = ates_server::input::date("to_date", to)?;
    DateRange::series(first, last).map_err(|refused| invalid("to_date", refused.to_string()))
}

pub(super) fn task_price(winner: &DayWinner) -> api::TaskPrice {
    api::TaskPrice {
        task_id: winner.completion.task_id.to_string(),
        description: winner.description.clone(),
        reward_cents: winner.completion.reward_cents,
        completed_on: winner.completion.completed_on.to_string(),
        title: winner.title.clone(),
        jira_id: winner.jira_id.clone(),
    }
}

pub(super) fn summary(summary: &Summary) -> api::GetSummaryResponse {
    api::GetSummaryResponse {
        business_date: summary.business_date.to_string(),
        management_earnings_cents: summary.management_earnings_cents,
        negative_balance_count: summary.negative_balance_count,
        rebuilding: summary.rebuilding,
        worker_count: summary.worker_count,
    }
}

pub(super) fn resync(request: &ResyncRequest) -> api::ResyncProjectionsResponse {
    api::ResyncProjectionsResponse {
        resync_id: request.resync_id.to_string(),
        requested_at: Some(timestamp(request.requested_at)),
    }
}
