//! Between the API's proto types and payouts' own; a bad field becomes INVALID_ARGUMENT naming
//! it.

use ates_contracts::ates::payouts::v1 as api;
use ates_contracts::time::timestamp;
use ates_server::paging::{Page, PageSizes};
use chrono::NaiveDate;

use crate::error::PayoutsError;
use crate::storage::payouts::{PayoutRow, PayoutView};

pub(super) fn business_date(raw: &str) -> Result<NaiveDate, PayoutsError> {
    Ok(ates_server::input::date("business_date", raw)?)
}

/// A page of the list `scope` names (method and filters).
pub(super) fn page(size: i32, token: &str, scope: String) -> Result<Page, PayoutsError> {
    const SIZES: PageSizes = PageSizes {
        default: 200,
        max: 1_000,
    };
    Ok(Page::parse(size, token, SIZES, scope)?)
}

fn base(payout: &PayoutRow) -> api::Payout {
    api::Payout {
        payout_id: payout.payout_id.to_string(),
        account_id: payout.account_id.to_string(),
        amount_cents: payout.amount_cents,
        business_date: payout.business_date.to_string(),
        paid_at: Some(timestamp(payout.paid_at)),
        ..api::Payout::default()
    }
}

/// A payout just made: its e-mail is queued.
pub(super) fn new_payout(payout: &PayoutRow) -> api::Payout {
    api::Payout {
        email_status: api::EmailStatus::Pending as i32,
        ..base(payout)
    }
}

/// A payout with where its e-mail is.
pub(super) fn payout(view: &PayoutView) -> api::Payout {
    let status = match (view.email_status.as_str(), view.address_known) {
        ("sent", _) => api::EmailStatus::Sent,
        ("failed", _) => api::EmailStatus::Failed,
        (_, false) => api::EmailStatus::WaitingForAddress,
        _ => api::EmailStatus::Pending,
    };
    api::Payout {
        email_sent: status == api::EmailStatus::Sent,
        email_status: status as i32,
        email_error: view.email_error.clone().unwrap_or_default(),
        ..base(&view.payout)
    }
}
