//! Every event analytics produces: the resync request.

use ates_contracts::ates::analytics::events::v1 as events;
use ates_contracts::time::timestamp;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// `ResyncRequested` (command event, to auth, tracker and accounting): send your state again.
pub fn resync_requested(resync_id: Uuid, requested_at: DateTime<Utc>) -> events::ResyncRequested {
    events::ResyncRequested {
        resync_id: resync_id.to_string(),
        requested_at: Some(timestamp(requested_at)),
    }
}
