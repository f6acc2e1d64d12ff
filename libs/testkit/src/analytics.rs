//! A real auth (tokens, account events) and a real analytics on one broker prefix. The test plays
//! the tracker and accounting: it publishes their events, and their snapshot batches, to their
//! exchanges.

#![allow(clippy::unwrap_used, missing_docs, missing_debug_implementations)]

use std::time::Duration;

use ates_contracts::ates::analytics::v1 as api;
use ates_contracts::ates::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use ates_messaging::DbPool;
use chrono::{DateTime, Utc};
use diesel_async::RunQueryDsl;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::{ConfirmedChannel, RunningService, TestDatabase, auth};

pub use analytics_svc::config::AnalyticsConfig;

/// auth and analytics running for a test, and a channel to play the other producers.
pub struct Dashboard {
    pub auth: auth::Auth,
    pub analytics: RunningService,
    pub database: TestDatabase,
    pub pool: DbPool,
    broker: ConfirmedChannel,
    admin: String,
}

impl Dashboard {
    pub async fn start() -> Self {
        let auth = auth::Auth::start().await;
        let database = TestDatabase::create().await.unwrap();
        let analytics = Self::analytics_on(&auth, &database).await;
        let pool = ates_storage::pool(database.url(), 4).unwrap();
        let broker = ConfirmedChannel::open(&auth.broker).await.unwrap();
        let admin = auth.admin_token().await;
        Self {
            auth,
            analytics,
            database,
            pool,
            broker,
            admin,
        }
    }

    async fn analytics_on(auth: &auth::Auth, database: &TestDatabase) -> RunningService {
        let config = crate::service_config(database.url(), &auth.broker, &auth.endpoint());
        RunningService::start(analytics_svc::app::spec(), config, |application| {
            Ok(analytics_svc::app::wiring_with(
                application,
                AnalyticsConfig::default(),
            ))
        })
        .await
        .unwrap()
    }

    pub fn admin(&self) -> &str {
        &self.admin
    }

    pub async fn client(&self) -> AnalyticsServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(self.analytics.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        AnalyticsServiceClient::new(channel)
    }

    /// Publishes an event as its producer would; returns the exact bytes sent.
    pub async fn publish<E: prost::Message + prost::Name>(
        &self,
        event: &E,
        occurred_at: DateTime<Utc>,
    ) -> Vec<u8> {
        self.broker.publish_event(event, occurred_at).await
    }

    /// Publishes bytes to an exchange (a byte-for-byte copy of an earlier message, say).
    pub async fn publish_bytes(&self, exchange: &str, routing_key: &str, body: &[u8]) {
        self.broker.publish_bytes(exchange, routing_key, body).await;
    }

    /// The number a counting query (`SELECT count(*) AS n ...`) answers on the service's database.
    pub async fn count(&self, sql: &str) -> i64 {
        crate::database::count(&self.pool, sql).await
    }

    /// Waits until analytics has applied (or parked) `events` distinct events.
    pub async fn settle(&self, events: i64) {
        let applied = crate::eventually(Duration::from_secs(30), || async {
            (self.count("SELECT count(*) AS n FROM inbox_events").await >= events).then_some(())
        })
        .await;
        assert!(
            applied.is_some(),
            "analytics applied {} of {events} events",
            self.count("SELECT count(*) AS n FROM inbox_events").await
        );
    }

    /// Asks for a resync as the admin (`wipe`: empty the projections first).
    pub async fn request_resync(&self, wipe: bool) -> api::ResyncProjectionsResponse {
        self.client()
            .await
            .resync_projections(crate::signed(
                api::ResyncProjectionsRequest { wipe },
                self.admin(),
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// The resync analytics asked for when it first started.
    pub async fn first_resync(&self) -> Uuid {
        #[derive(diesel::QueryableByName)]
        struct Resync {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            resync_id: Uuid,
        }
        let mut conn = self.pool.get().await.unwrap();
        diesel::sql_query("SELECT resync_id FROM resyncs ORDER BY position LIMIT 1")
            .get_result::<Resync>(&mut conn)
            .await
            .unwrap()
            .resync_id
    }
}
