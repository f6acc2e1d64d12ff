//! Events per second through outbox → relay → RabbitMQ → inbox consumer, next to a bare lapin
//! publish-with-confirms and consume-with-ack loop over the same broker in the same run.
//!
//! Durability is on in both: persistent messages on durable quorum queues, publisher confirms,
//! manual acks, and PostgreSQL commits with `synchronous_commit` as the server has it.
//!
//! `BENCH_EVENTS` (default 20000) sets N. Run with `make bench`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use ates_contracts::ates::tracker::events::v1::TaskCompleted;
use ates_contracts::routing::{self, Service};
use ates_messaging::{
    Accepts, AmqpSettings, Cause, Consumer, ConsumerConfig, ConsumerStats, Handler, HandlerError,
    Outbox, Reads, Received, Recorder, Relay, RelayConfig, Topology,
};
use ates_testkit::{TestBroker, TestDatabase};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::BoxFuture;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// Events per producer transaction, and concurrent producers: a busy service's write load.
const EVENTS_PER_TRANSACTION: usize = 50;
const PRODUCERS: usize = 4;

struct Effect;

impl Handler for Effect {
    type Batch = Vec<TaskCompleted>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts.on::<TaskCompleted>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Vec<TaskCompleted>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            // One statement per event, as a simple handler would write it.
            for completed in batch {
                diesel::sql_query(
                    "INSERT INTO bench_effects (task_id, reward_cents) VALUES ($1, $2)",
                )
                .bind::<diesel::sql_types::Text, _>(&completed.task_id)
                .bind::<diesel::sql_types::BigInt, _>(completed.reward_cents)
                .execute(conn)
                .await?;
            }
            Ok(())
        })
    }
}

impl Reads<TaskCompleted> for Effect {
    fn read(
        &self,
        batch: &mut Vec<TaskCompleted>,
        event: Received<TaskCompleted>,
    ) -> Result<(), HandlerError> {
        batch.push(event.message);
        Ok(())
    }
}

fn event(index: usize) -> TaskCompleted {
    TaskCompleted {
        task_id: uuid::Uuid::new_v4().to_string(),
        assignee_id: uuid::Uuid::new_v4().to_string(),
        reward_cents: 2000 + i64::try_from(index % 2001).unwrap(),
        completed_at: Some(prost_types::Timestamp {
            seconds: 1_764_000_000,
            nanos: 0,
        }),
    }
}

async fn outbox_pipeline(events: usize) -> Duration {
    let database = TestDatabase::create().await.unwrap();
    ates_messaging::migrate(database.url(), None).await.unwrap();
    let pool = Pool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
        database.url(),
    ))
    .max_size(16)
    .build()
    .unwrap();
    let mut conn = pool.get().await.unwrap();
    diesel::sql_query("CREATE TABLE bench_effects (id BIGSERIAL PRIMARY KEY, task_id TEXT NOT NULL, reward_cents BIGINT NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let mut broker = TestBroker::shared();
    let topology = Topology::new(broker.prefix());
    broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
    let amqp = AmqpSettings {
        url: broker.url().to_owned(),
        topology,
    };
    let outbox = Outbox::new(Service::Tracker);
    let shutdown = CancellationToken::new();
    let subscription = routing::subscriptions_of(Service::Accounting)
        .into_iter()
        .find(|subscription| subscription.exchange == routing::TRACKER_TASK_LIFECYCLE)
        .unwrap();
    let consumer = Consumer::new(
        subscription,
        pool.clone(),
        amqp.clone(),
        Outbox::new(Service::Accounting),
        ates_messaging::subscriber(Effect),
        ConsumerConfig::default(),
    );
    let stats = consumer.stats();
    tokio::spawn(consumer.run(shutdown.clone()));
    tokio::spawn(
        Relay::new(&outbox, pool.clone(), amqp.clone(), RelayConfig::default())
            .run(shutdown.clone()),
    );
    // Let both connect and declare before the clock starts.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let started = Instant::now();
    let per_producer = events / PRODUCERS;
    let mut producers = Vec::new();
    for producer in 0..PRODUCERS {
        let pool = pool.clone();
        let outbox = outbox.clone();
        producers.push(tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let mut recorded = 0;
            while recorded < per_producer {
                let count = EVENTS_PER_TRANSACTION.min(per_producer - recorded);
                let batch: Vec<TaskCompleted> = (0..count)
                    .map(|index| event(producer * per_producer + recorded + index))
                    .collect();
                let now = chrono::Utc::now();
                outbox
                    .transaction(&mut conn, async |conn, events| {
                        events
                            .record_all(
                                conn,
                                batch.iter().map(|event| (event, now, Cause::current())),
                            )
                            .await
                    })
                    .await
                    .unwrap();
                recorded += count;
            }
        }));
    }
    for producer in producers {
        producer.await.unwrap();
    }
    let total = u64::try_from(per_producer * PRODUCERS).unwrap();
    while ConsumerStats::get(&stats.applied) < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    elapsed
}

async fn bare_loop(events: usize) -> Duration {
    let bodies: Vec<Vec<u8>> = (0..events)
        .map(|index| event(index).encode_to_vec())
        .collect();
    ates_testkit::bare_broker_loop(&TestBroker::shared(), &bodies)
        .await
        .unwrap()
}

fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

fn main() {
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000);
    let events = events - events % PRODUCERS;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Warm both paths once, then measure them alternately so a noisy neighbour hurts both.
        let _ = bare_loop(1_000).await;
        let _ = outbox_pipeline(1_000).await;
        let bare_first = bare_loop(events).await;
        let outbox_elapsed = outbox_pipeline(events).await;
        let bare_second = bare_loop(events).await;
        let bare = (bare_first + bare_second) / 2;
        let bare_rate = rate(events, bare);
        let outbox_rate = rate(events, outbox_elapsed);
        println!("events: {events} (durable quorum queues, persistent messages, publisher confirms, manual acks)");
        println!(
            "bare lapin loop:          {bare_rate:>9.0} events/s ({:.2} s and {:.2} s)",
            bare_first.as_secs_f64(),
            bare_second.as_secs_f64()
        );
        println!(
            "outbox→relay→inbox:       {outbox_rate:>9.0} events/s ({:.2} s; {PRODUCERS} producers, {EVENTS_PER_TRANSACTION} events per transaction)",
            outbox_elapsed.as_secs_f64()
        );
        println!("ratio outbox / bare:      {:>9.2}", outbox_rate / bare_rate);
    });
}
