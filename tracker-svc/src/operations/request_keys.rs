//! Idempotency keys: a retried call with the same `request_id` answers like the first one.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::TrackerError;
use crate::storage::request_keys::{self, RequestKeyRow};

/// A call's idempotency key, if it sent one, and what the call asked for.
pub(crate) struct RequestKey<'a> {
    caller: Uuid,
    request_id: Option<Uuid>,
    method: &'static str,
    fingerprint: &'a str,
}

impl<'a> RequestKey<'a> {
    pub(crate) fn new(
        caller: Uuid,
        request_id: Option<Uuid>,
        method: &'static str,
        fingerprint: &'a str,
    ) -> Self {
        Self {
            caller,
            request_id,
            method,
            fingerprint,
        }
    }

    /// What an earlier committed call with this key produced; `None` when there is no key or
    /// this call now holds it.
    pub(crate) async fn claim(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<Option<RequestKeyRow>, TrackerError> {
        let Some(request_id) = self.request_id else {
            return Ok(None);
        };
        let first = request_keys::claim(
            conn,
            self.caller,
            request_id,
            self.method,
            self.fingerprint,
            Utc::now(),
        )
        .await?;
        match first {
            Some(first) if first.method != self.method || first.fingerprint != self.fingerprint => {
                Err(TrackerError::InvalidArgument {
                    field: "request_id",
                    reason: format!(
                        "was already used by this caller for a different request ({})",
                        first.method
                    ),
                })
            }
            Some(first) => {
                tracing::info!(
                    method = self.method,
                    request.id = %request_id,
                    "answered a retry from its request key"
                );
                Ok(Some(first))
            }
            None => Ok(None),
        }
    }

    /// Stores the result of the call that holds the key.
    pub(crate) async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        result_id: Uuid,
        result_count: Option<i64>,
    ) -> Result<(), TrackerError> {
        if let Some(request_id) = self.request_id {
            request_keys::record_result(conn, self.caller, request_id, result_id, result_count)
                .await?;
        }
        Ok(())
    }
}
