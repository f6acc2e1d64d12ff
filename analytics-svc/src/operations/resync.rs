//! Asking the producers for their state again.

use ates_messaging::{Cause, Outbox};
use ates_storage::DbPool;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::AnalyticsError;
use crate::events::outbound;
use crate::storage::resyncs;

/// A resync that was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResyncRequest {
    /// Its id, carried by every snapshot batch sent for it.
    pub resync_id: Uuid,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
}

/// Records resync requests.
#[derive(Clone)]
pub struct Resyncs {
    pool: DbPool,
    outbox: Outbox,
}

impl std::fmt::Debug for Resyncs {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Resyncs")
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

impl Resyncs {
    /// Requests go to `outbox` in `pool`.
    pub fn new(pool: DbPool, outbox: Outbox) -> Self {
        Self { pool, outbox }
    }

    /// Asks every producer for its state again; with `wipe`, empties the projections first, in
    /// the same transaction, so that they are rebuilt from the snapshots and what follows alone.
    pub async fn request(
        &self,
        wipe: bool,
        now: DateTime<Utc>,
    ) -> Result<ResyncRequest, AnalyticsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let request = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                resyncs::lock_requests(conn).await?;
                Self::record(conn, events, wipe, now).await
            })
            .await?;
        tracing::info!(resync_id = %request.resync_id, wipe, "resync requested");
        Ok(request)
    }

    /// Asks for a resync when this database never had one: a new database, or one that replaced
    /// a lost one, learns what happened before it. Replicas starting together ask once.
    pub async fn request_first(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<ResyncRequest>, AnalyticsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let request = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                resyncs::lock_requests(conn).await?;
                if resyncs::any(conn).await? {
                    return Ok::<_, AnalyticsError>(None);
                }
                Ok(Some(Self::record(conn, events, false, now).await?))
            })
            .await?;
        if let Some(request) = &request {
            tracing::info!(resync_id = %request.resync_id, "first start on this database: resync requested");
        }
        Ok(request)
    }

    async fn record(
        conn: &mut diesel_async::AsyncPgConnection,
        events: &ates_messaging::Recorder,
        wipe: bool,
        now: DateTime<Utc>,
    ) -> Result<ResyncRequest, AnalyticsError> {
        if wipe {
            resyncs::wipe_projections(conn).await?;
        }
        let request = ResyncRequest {
            resync_id: Uuid::new_v4(),
            requested_at: now,
        };
        resyncs::insert(conn, request.resync_id, now, wipe).await?;
        events
            .record(
                conn,
                &outbound::resync_requested(request.resync_id, now),
                now,
                Cause::current(),
            )
            .await?;
        Ok(request)
    }
}
