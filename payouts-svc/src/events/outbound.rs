//! Every event payouts produces, built in one place.

use ates_contracts::ates::payouts::events::v1 as events;
use ates_contracts::time::timestamp;

use crate::storage::payouts::PayoutRow;

/// `BillZeroed` (to accounting): an account's positive balance through a date was paid.
pub fn bill_zeroed(payout: &PayoutRow) -> events::BillZeroed {
    events::BillZeroed {
        payout_id: payout.payout_id.to_string(),
        account_id: payout.account_id.to_string(),
        amount_cents: payout.amount_cents,
        business_date: payout.business_date.to_string(),
        paid_at: Some(timestamp(payout.paid_at)),
    }
}
