//! Task lifecycles (create, then complete) driven through the tracker's gRPC API; accounting
//! settles the fee and the reward of each. Measured in one run:
//! 1. ledger events settled per second in accounting at full speed, next to the bare RabbitMQ
//!    loop over the same number of messages;
//! 2. the time from the tracker's commit to accounting's insert, p50 and p99, at a fixed offered
//!    load of `BENCH_RATE` ledger events per second (default 1,000).
//!
//! `BENCH_LIFECYCLES` (default 2,000) sets the size of part 1.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::tracker::v1 as api;
use ates_testkit::signed;
use ates_testkit::tracker::{Popug, World};
use ates_testkit::{RunningService, TestDatabase};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use prost::Message as _;

struct Bench {
    world: World,
    _accounting: RunningService,
    _database: TestDatabase,
    ledger: ates_messaging::DbPool,
    manager: Popug,
    tokens: HashMap<String, String>,
}

impl Bench {
    async fn postings(&self) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.ledger.get().await.unwrap();
        diesel::sql_query("SELECT count(*) AS n FROM postings")
            .get_result::<Count>(&mut conn)
            .await
            .unwrap()
            .n
    }

    /// Creates a task as the manager and completes it as its assignee.
    async fn lifecycle(
        &self,
        client: &mut api::tracker_service_client::TrackerServiceClient<tonic::transport::Channel>,
    ) {
        let task = client
            .create_task(signed(
                api::CreateTaskRequest {
                    description: "settle me".to_owned(),
                    ..Default::default()
                },
                &self.manager.token,
            ))
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap();
        let token = &self.tokens[&task.assignee_id];
        client
            .complete_task(signed(
                api::CompleteTaskRequest {
                    task_id: task.task_id,
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap();
    }
}

async fn wait_for_postings(bench: &Bench, wanted: i64) {
    while bench.postings().await < wanted {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn main() {
    let lifecycles: usize = std::env::var("BENCH_LIFECYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2_000);
    let rate: u32 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let _telemetry = ates_telemetry::init("bench").unwrap();
        let world = World::start().await;
        let database = TestDatabase::create().await.unwrap();
        let config = ates_testkit::service_config(database.url(), &world.auth.broker, &world.auth.endpoint());
        let accounting = RunningService::start(accounting_svc::app::spec(), config, |application| {
            Ok(accounting_svc::app::wiring_with(application, accounting_svc::config::AccountingConfig::default()))
        })
        .await
        .unwrap();
        let ledger = Pool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(database.url()))
            .max_size(2)
            .build()
            .unwrap();
        let mut tokens = HashMap::new();
        for index in 0..10 {
            let popug = world.popug(&format!("worker{index}"), Role::Worker).await;
            tokens.insert(popug.id.to_string(), popug.token);
        }
        let manager = world.popug("manager", Role::Manager).await;
        let bench = Arc::new(Bench { world, _accounting: accounting, _database: database, ledger, manager, tokens });
        let channel = tonic::transport::Endpoint::from_shared(bench.world.tracker.endpoint()).unwrap().connect().await.unwrap();

        // Part 1: as fast as the system goes.
        let started = Instant::now();
        let mut drivers = tokio::task::JoinSet::new();
        let clients = 32;
        for driver in 0..clients {
            let bench = Arc::clone(&bench);
            let mut client = api::tracker_service_client::TrackerServiceClient::new(channel.clone());
            drivers.spawn(async move {
                for _ in (driver..lifecycles).step_by(clients) {
                    bench.lifecycle(&mut client).await;
                }
            });
        }
        while drivers.join_next().await.is_some() {}
        let driven = started.elapsed();
        let ledger_events = 2 * lifecycles as i64;
        wait_for_postings(&bench, ledger_events).await;
        let settled = started.elapsed();
        let settled_per_second = ledger_events as f64 / settled.as_secs_f64();

        // The bare broker loop over as many messages of a similar size, in the same run.
        let body = ates_contracts::ates::tracker::events::v1::TaskCompleted {
            task_id: uuid::Uuid::new_v4().to_string(),
            assignee_id: uuid::Uuid::new_v4().to_string(),
            reward_cents: 3_000,
            completed_at: None,
        }
        .encode_to_vec();
        let bodies = vec![body; usize::try_from(ledger_events).unwrap()];
        let bare = ates_testkit::bare_broker_loop(&bench.world.auth.broker, &bodies).await.unwrap();
        let bare_per_second = ledger_events as f64 / bare.as_secs_f64();

        // Part 2: latency at a fixed offered load (two ledger events per lifecycle).
        let before = bench.postings().await;
        let phase_started = chrono::Utc::now();
        let interval = Duration::from_secs_f64(2.0 / f64::from(rate));
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut calls = tokio::task::JoinSet::new();
        let offered = Instant::now();
        let mut started_lifecycles = 0_i64;
        while offered.elapsed() < Duration::from_secs(5) {
            ticker.tick().await;
            let bench = Arc::clone(&bench);
            let mut client = api::tracker_service_client::TrackerServiceClient::new(channel.clone());
            calls.spawn(async move { bench.lifecycle(&mut client).await });
            started_lifecycles += 1;
        }
        while calls.join_next().await.is_some() {}
        wait_for_postings(&bench, before + 2 * started_lifecycles).await;
        #[derive(diesel::QueryableByName)]
        struct Latency {
            #[diesel(sql_type = diesel::sql_types::Double)]
            p50: f64,
            #[diesel(sql_type = diesel::sql_types::Double)]
            p99: f64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = bench.ledger.get().await.unwrap();
        let latency: Latency = diesel::sql_query(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, \
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, count(*) AS n \
             FROM (SELECT extract(epoch FROM recorded_at - occurred_at) * 1000 AS ms FROM ledger_entries \
                   WHERE book = 'employee' AND occurred_at >= $1) AS latencies",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(phase_started)
        .get_result(&mut conn)
        .await
        .unwrap();

        // Part 3: accounting alone: ledger events published straight to its exchange, as the
        // tracker's relay would, 10 popugs, then the time until all are settled.
        let direct_events = 10_000_usize;
        let exchange = ates_messaging::Topology::new(bench.world.auth.broker.prefix())
            .exchange(ates_contracts::routing::TRACKER_TASK_LIFECYCLE);
        let popugs: Vec<String> = bench.tokens.keys().cloned().collect();
        let mut envelopes = Vec::with_capacity(direct_events);
        for index in 0..direct_events / 2 {
            let task = uuid::Uuid::new_v4().to_string();
            let assignee = popugs[index % popugs.len()].clone();
            let now = Some(prost_types::Timestamp { seconds: chrono::Utc::now().timestamp(), nanos: 0 });
            let added = ates_contracts::ates::tracker::events::v1::TaskAdded {
                task_id: task.clone(),
                assignment: Some(ates_contracts::ates::tracker::events::v1::Assignment {
                    assignment_id: uuid::Uuid::new_v4().to_string(),
                    task_id: task.clone(),
                    assignee_id: assignee.clone(),
                    description: "direct".to_owned(),
                    fee_cents: 1_500,
                    assigned_at: now,
                }),
                creator_id: assignee.clone(),
            };
            let completed = ates_contracts::ates::tracker::events::v1::TaskCompleted {
                task_id: task,
                assignee_id: assignee,
                reward_cents: 3_000,
                completed_at: now,
            };
            for (event_type, payload) in [
                ("ates.tracker.events.v1.TaskAdded", added.encode_to_vec()),
                ("ates.tracker.events.v1.TaskCompleted", completed.encode_to_vec()),
            ] {
                let envelope = ates_contracts::ates::events::v1::EventEnvelope {
                    event_id: uuid::Uuid::now_v7().to_string(),
                    event_type: event_type.to_owned(),
                    occurred_at: now,
                    producer: "tracker-svc".to_owned(),
                    payload,
                    ..Default::default()
                };
                envelopes.push((event_type, envelope.encode_to_vec()));
            }
        }
        let connection = bench.world.auth.broker.connect().await.unwrap();
        let publisher = connection.create_channel().await.unwrap();
        publisher.confirm_select(lapin::options::ConfirmSelectOptions::default()).await.unwrap();
        let before = bench.postings().await;
        let direct_started = Instant::now();
        for window in envelopes.chunks(1_000) {
            let publishes = window.iter().map(|(event_type, body)| {
                publisher.basic_publish(
                    exchange.clone().into(),
                    (*event_type).into(),
                    lapin::options::BasicPublishOptions { mandatory: true, ..Default::default() },
                    body,
                    lapin::BasicProperties::default().with_delivery_mode(2),
                )
            });
            let confirms = futures::future::try_join_all(publishes).await.unwrap();
            futures::future::join_all(confirms).await;
        }
        wait_for_postings(&bench, before + direct_events as i64).await;
        let direct = direct_started.elapsed();

        println!("{lifecycles} lifecycles (create + complete) through the tracker's gRPC API, {clients} clients, 10 workers");
        println!(
            "ledger events settled:   {settled_per_second:>8.0}/s   ({ledger_events} in {:.2} s; driving took {:.2} s)",
            settled.as_secs_f64(),
            driven.as_secs_f64()
        );
        println!("bare RabbitMQ loop:      {bare_per_second:>8.0}/s   ({ledger_events} messages in {:.2} s)", bare.as_secs_f64());
        println!("settled / bare:          {:>8.2}", settled_per_second / bare_per_second);
        println!(
            "at {rate} ledger events/s offered: tracker commit → accounting insert p50 {:.1} ms, p99 {:.1} ms over {} entries",
            latency.p50, latency.p99, latency.n
        );
        println!(
            "accounting alone:        {:>8.0}/s   ({direct_events} ledger events published straight to its exchange, settled in {:.2} s)",
            direct_events as f64 / direct.as_secs_f64(),
            direct.as_secs_f64()
        );
    });
}
