//! A producer (tracker's outbox and relay) and a consumer (accounting's inbox) sharing one fresh
//! database, on the shared broker under a unique prefix or on a private broker.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use ates_contracts::ates::tracker::events::v1::TaskCompleted;
use ates_contracts::routing::{self, Service, Subscription};
use ates_messaging::{
    Accepts, AmqpSettings, Consumer, ConsumerConfig, ConsumerStats, DbPool, Handler, HandlerError,
    Outbox, Reads, Received, Recorder, Relay, RelayConfig, Topology,
};
use ates_testkit::{TestBroker, TestDatabase};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A reward of this amount makes the test handler fail every time.
pub const POISON_REWARD_CENTS: i64 = -1;

/// A reward of this amount makes the test handler meet a transient database condition the
/// first [`TRANSIENT_FAILURES`] times.
pub const CONTENDED_REWARD_CENTS: i64 = -2;
pub const TRANSIENT_FAILURES: u32 = 6;

/// A reward of this amount makes the test handler fail until [`FIXED`] is set: a bug fixed
/// after the message was parked.
pub const REFUSED_UNTIL_FIXED_REWARD_CENTS: i64 = -3;
pub static FIXED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static TRANSIENT_FAILURES_SEEN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

pub struct Harness {
    pub database: TestDatabase,
    pub broker: TestBroker,
    pub pool: DbPool,
    pub amqp: AmqpSettings,
    pub outbox: Outbox,
    pub shutdown: CancellationToken,
}

impl Harness {
    pub async fn new() -> Self {
        let broker = TestBroker::shared();
        let url = broker.url().to_owned();
        Self::with_broker_url(broker, url).await
    }

    /// A harness whose relay and consumers talk to `amqp_url` (a private broker), while the
    /// shared broker only provides the name prefix.
    pub async fn with_broker_url(mut broker: TestBroker, amqp_url: String) -> Self {
        let database = TestDatabase::create().await.unwrap();
        ates_messaging::migrate(database.url(), None).await.unwrap();
        let pool = pool(database.url());
        let mut conn = pool.get().await.unwrap();
        diesel::sql_query(
            "CREATE TABLE test_effects (id BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL, task_id TEXT NOT NULL, \
             reward_cents BIGINT NOT NULL, trace_id TEXT)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        drop(conn);
        let topology = Topology::new(broker.prefix());
        broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
        Self {
            database,
            broker,
            pool,
            amqp: AmqpSettings {
                url: amqp_url,
                topology,
            },
            outbox: Outbox::new(Service::Tracker),
            shutdown: CancellationToken::new(),
        }
    }

    pub fn relay(&self) -> Relay {
        Relay::new(
            &self.outbox,
            self.pool.clone(),
            self.amqp.clone(),
            RelayConfig::default(),
        )
    }

    pub fn start_relay(&self) {
        tokio::spawn(self.relay().run(self.shutdown.clone()));
    }

    pub fn consumer(&self, config: ConsumerConfig) -> Consumer {
        Consumer::new(
            subscription(),
            self.pool.clone(),
            self.amqp.clone(),
            Outbox::new(Service::Accounting),
            ates_messaging::subscriber(TestHandler),
            config,
        )
    }

    /// Starts a consumer and returns its counters.
    pub fn start_consumer(&self) -> Arc<ConsumerStats> {
        let consumer = self.consumer(fast_retries());
        let stats = consumer.stats();
        tokio::spawn(consumer.run(self.shutdown.clone()));
        stats
    }

    /// Records a completion in its own committed transaction; returns the event id.
    pub async fn record_committed(&self, task_id: &str, reward_cents: i64) -> uuid::Uuid {
        let mut conn = self.pool.get().await.unwrap();
        self.outbox
            .transaction(&mut conn, async |conn, events| {
                events
                    .record(
                        conn,
                        &completion(task_id, reward_cents),
                        chrono::Utc::now(),
                        ates_messaging::Cause::current(),
                    )
                    .await
            })
            .await
            .unwrap()
    }

    /// How many effects the handler recorded for a task.
    pub async fn effects_of(&self, task_id: &str) -> i64 {
        let mut conn = self.pool.get().await.unwrap();
        count(
            &mut conn,
            &format!("SELECT count(*) AS n FROM test_effects WHERE task_id = '{task_id}'"),
        )
        .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.pool.get().await.unwrap();
        count(&mut conn, sql).await
    }

    /// Waits until the handler recorded `wanted` effects for the task; panics after [`TIMEOUT`].
    pub async fn wait_for_effects(&self, task_id: &str, wanted: i64) {
        let reached = ates_testkit::eventually(TIMEOUT, || async {
            (self.effects_of(task_id).await >= wanted).then_some(())
        })
        .await;
        assert!(
            reached.is_some(),
            "task {task_id} did not reach {wanted} effects in {TIMEOUT:?}"
        );
    }

    /// The queue the test consumer reads, as deployed.
    pub fn queue(&self) -> String {
        self.amqp.topology.queue(&subscription())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn fast_retries() -> ConsumerConfig {
    ConsumerConfig {
        retry_delay: Duration::from_millis(20),
        ..ConsumerConfig::default()
    }
}

pub fn pool(url: &str) -> DbPool {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager).max_size(8).build().unwrap()
}

/// accounting's queue on the tracker's task-lifecycle exchange.
pub fn subscription() -> Subscription {
    routing::subscriptions_of(Service::Accounting)
        .into_iter()
        .find(|subscription| subscription.exchange == routing::TRACKER_TASK_LIFECYCLE)
        .unwrap()
}

pub fn completion(task_id: &str, reward_cents: i64) -> TaskCompleted {
    TaskCompleted {
        task_id: task_id.to_owned(),
        assignee_id: uuid::Uuid::new_v4().to_string(),
        reward_cents,
        completed_at: None,
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .n
}

/// Records one row per applied completion (with the trace id of its event); fails for ever on
/// the poison reward.
pub struct TestHandler;

/// A completion as the test handler read it, with the trace it continues.
pub struct Completion {
    event_id: uuid::Uuid,
    completed: TaskCompleted,
    trace_id: Option<String>,
}

impl Handler for TestHandler {
    type Batch = Vec<Completion>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts.on::<TaskCompleted>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Vec<Completion>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            for Completion {
                event_id,
                completed,
                trace_id,
            } in batch
            {
                if completed.reward_cents == CONTENDED_REWARD_CENTS
                    && TRANSIENT_FAILURES_SEEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                        < TRANSIENT_FAILURES
                {
                    return Err(HandlerError::Transient(
                        "deadlock detected (simulated)".to_owned(),
                    ));
                }
                if completed.reward_cents == REFUSED_UNTIL_FIXED_REWARD_CENTS
                    && !std::sync::atomic::AtomicBool::load(
                        &FIXED,
                        std::sync::atomic::Ordering::SeqCst,
                    )
                {
                    return Err(HandlerError::Failed(
                        "the test handler has a bug for this reward, until it is fixed".to_owned(),
                    ));
                }
                if completed.reward_cents == POISON_REWARD_CENTS {
                    return Err(HandlerError::Failed(
                        "the test handler always fails on this reward".to_owned(),
                    ));
                }
                diesel::sql_query("INSERT INTO test_effects (event_id, task_id, reward_cents, trace_id) VALUES ($1, $2, $3, $4)")
                    .bind::<diesel::sql_types::Uuid, _>(event_id)
                    .bind::<diesel::sql_types::Text, _>(&completed.task_id)
                    .bind::<diesel::sql_types::BigInt, _>(completed.reward_cents)
                    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(trace_id)
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
    }
}

impl Reads<TaskCompleted> for TestHandler {
    fn read(
        &self,
        batch: &mut Vec<Completion>,
        event: Received<TaskCompleted>,
    ) -> Result<(), HandlerError> {
        batch.push(Completion {
            event_id: event.event_id,
            trace_id: event.cause.trace_id().map(str::to_owned),
            completed: event.message,
        });
        Ok(())
    }
}
