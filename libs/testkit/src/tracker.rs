//! A real auth and a real tracker, in this process, sharing one broker prefix: tokens come from
//! auth's SignIn and the tracker learns accounts from auth's events.

#![allow(clippy::unwrap_used, missing_docs, missing_debug_implementations)]

use crate::auth;

use std::collections::HashMap;
use std::time::Duration;

use crate::{RunningService, TestDatabase, signed};
use ates_contracts::ates::auth::v1 as auth_api;
use ates_contracts::ates::events::v1::EventEnvelope;
use ates_contracts::ates::tracker::v1 as api;
use ates_contracts::ates::tracker::v1::tracker_service_client::TrackerServiceClient;
use ates_contracts::routing::{self, Service};
use ates_messaging::DbPool;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use lapin::options::BasicGetOptions;
use prost::Message as _;
use tonic::transport::Channel;
use uuid::Uuid;

/// auth and the tracker running for a test.
pub struct World {
    pub auth: auth::Auth,
    pub tracker: RunningService,
    pub tracker_database: TestDatabase,
    pub tracker_pool: DbPool,
    /// Messages drained from queues so far, by queue.
    drained: tokio::sync::Mutex<HashMap<String, Vec<EventEnvelope>>>,
}

/// An account with a token.
#[derive(Debug, Clone)]
pub struct Popug {
    pub id: Uuid,
    pub role: api_role::Role,
    pub token: String,
}

pub mod api_role {
    pub use ates_contracts::ates::auth::v1::Role;
}

impl World {
    pub async fn start() -> Self {
        Self::start_with_batch_size(tracker_svc::config::DEFAULT_REASSIGNMENT_BATCH_SIZE).await
    }

    pub async fn start_with_batch_size(batch_size: usize) -> Self {
        Self::start_with(tracker_svc::config::TrackerConfig {
            reassignment_batch_size: batch_size,
            ..Default::default()
        })
        .await
    }

    pub async fn start_with(tracker_config: tracker_svc::config::TrackerConfig) -> Self {
        let auth = auth::Auth::start().await;
        let tracker_database = TestDatabase::create().await.unwrap();
        let config = crate::service_config(tracker_database.url(), &auth.broker, &auth.endpoint());
        let tracker = RunningService::start(tracker_svc::app::spec(), config, |application| {
            Ok(tracker_svc::app::wiring_with(application, tracker_config))
        })
        .await
        .unwrap();
        let tracker_pool = Pool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
            tracker_database.url(),
        ))
        .max_size(4)
        .build()
        .unwrap();
        Self {
            auth,
            tracker,
            tracker_database,
            tracker_pool,
            drained: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The bootstrap admin, once the tracker knows it.
    pub async fn admin(&self) -> Popug {
        let signed_in = self.auth.sign_in(auth::ADMIN_BEAK).await;
        let id = Uuid::parse_str(&signed_in.account.unwrap().account_id).unwrap();
        self.wait_until_tracker_knows(id, "admin").await;
        Popug {
            id,
            role: api_role::Role::Admin,
            token: signed_in.access_token,
        }
    }

    /// Creates an account in auth, signs it in, and waits until the tracker has heard of it.
    pub async fn popug(&self, name: &str, role: api_role::Role) -> Popug {
        let (account, beak) = self
            .auth
            .create(&format!("{name}@uberpopug.test"), role)
            .await;
        let id = Uuid::parse_str(&account.account_id).unwrap();
        self.wait_until_tracker_knows(id, role_name(role)).await;
        Popug {
            id,
            role,
            token: self.auth.sign_in(&beak).await.access_token,
        }
    }

    /// Changes a role in auth and waits until the tracker applied it.
    pub async fn change_role(&self, popug: &Popug, role: api_role::Role) {
        let admin = self.auth.admin_token().await;
        self.auth
            .client()
            .await
            .change_account_role(signed(
                auth_api::ChangeAccountRoleRequest {
                    account_id: popug.id.to_string(),
                    role: role as i32,
                },
                &admin,
            ))
            .await
            .unwrap();
        self.wait_until_tracker_knows(popug.id, role_name(role))
            .await;
    }

    pub async fn wait_until_tracker_knows(&self, id: Uuid, role: &str) {
        let known = crate::eventually(Duration::from_secs(20), || async {
            (self.count(&format!("SELECT count(*) AS n FROM accounts WHERE public_id = '{id}' AND role = '{role}'")).await == 1)
                .then_some(())
        })
        .await;
        assert!(
            known.is_some(),
            "the tracker never learned that {id} is a {role}"
        );
    }

    /// The number a counting query (`SELECT count(*) AS n ...`) answers on the service's database.
    pub async fn count(&self, sql: &str) -> i64 {
        crate::database::count(&self.tracker_pool, sql).await
    }

    pub async fn client(&self) -> TrackerServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(self.tracker.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        TrackerServiceClient::new(channel)
    }

    pub async fn create_task(&self, popug: &Popug, description: &str) -> api::Task {
        self.client()
            .await
            .create_task(signed(
                api::CreateTaskRequest {
                    description: description.to_owned(),
                    ..Default::default()
                },
                &popug.token,
            ))
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap()
    }

    pub async fn reshuffle(&self, manager: &Popug) -> api::ReassignOpenTasksResponse {
        self.client()
            .await
            .reassign_open_tasks(signed(
                api::ReassignOpenTasksRequest::default(),
                &manager.token,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn get_task(&self, popug: &Popug, task_id: &str) -> api::Task {
        self.client()
            .await
            .get_task(signed(
                api::GetTaskRequest {
                    task_id: task_id.to_owned(),
                },
                &popug.token,
            ))
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap()
    }

    /// Every envelope that has reached `consumer`'s queue on `exchange` so far (drained from
    /// the broker and remembered).
    pub async fn events(&self, consumer: Service, exchange: &str) -> Vec<EventEnvelope> {
        let subscription = routing::subscriptions_of(consumer)
            .into_iter()
            .find(|subscription| subscription.exchange == exchange)
            .unwrap();
        let queue = ates_messaging::Topology::new(self.auth.broker.prefix()).queue(&subscription);
        let connection = self.auth.broker.connect().await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        let mut drained = self.drained.lock().await;
        let seen = drained.entry(queue.clone()).or_default();
        while let Some(message) = channel
            .basic_get(queue.clone().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            seen.push(EventEnvelope::decode(message.delivery.data.as_slice()).unwrap());
        }
        seen.clone()
    }

    /// Waits until the outbox is empty (every event confirmed by the broker), then drains.
    pub async fn settled_events(&self, consumer: Service, exchange: &str) -> Vec<EventEnvelope> {
        let empty = crate::eventually(Duration::from_secs(60), || async {
            (self.count("SELECT count(*) AS n FROM outbox_events").await == 0).then_some(())
        })
        .await;
        assert!(empty.is_some(), "the tracker's outbox did not drain");
        self.events(consumer, exchange).await
    }
}

pub fn role_name(role: api_role::Role) -> &'static str {
    match role {
        api_role::Role::Admin => "admin",
        api_role::Role::Manager => "manager",
        api_role::Role::Accountant => "accountant",
        _ => "worker",
    }
}

/// Decodes the payloads of the envelopes of one type.
pub fn payloads<E: prost::Message + Default + prost::Name>(envelopes: &[EventEnvelope]) -> Vec<E> {
    envelopes
        .iter()
        .filter(|envelope| envelope.event_type == E::full_name())
        .map(|envelope| E::decode(envelope.payload.as_slice()).unwrap())
        .collect()
}
