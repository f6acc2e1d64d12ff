//! Two figures of the tracker, each next to a baseline measured in the same run:
//! 1. Task creations at a fixed offered load (open loop): achieved rate and latency, next to the
//!    standard health check of the same server at the same offered load.
//! 2. A reshuffle of `BENCH_OPEN_TASKS` (default 100,000) open tasks: time until the tracker's
//!    transaction committed (the call returned) and until the broker confirmed the last
//!    reassignment event (the outbox is empty).
//!
//! `BENCH_RATE` (default 400 per second) and `BENCH_SECONDS` (default 5) set the offered load.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::tracker::v1 as api;
use ates_testkit::signed;
use ates_testkit::tracker::World;
use diesel_async::RunQueryDsl;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

struct Figures {
    achieved_per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

/// Starts one call every 1/rate seconds for `duration`, whatever the latency (open loop).
async fn open_loop<F, Fut>(rate: u32, duration: Duration, call: F) -> Figures
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = tokio::task::JoinSet::new();
    while started.elapsed() < duration {
        ticker.tick().await;
        let call = call();
        calls.spawn(async move {
            let begun = Instant::now();
            let ok = call.await;
            (begun.elapsed(), ok)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(result) = calls.join_next().await {
        let (latency, ok) = result.unwrap();
        latencies.push(latency);
        errors += usize::from(!ok);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Figures {
        achieved_per_second: (latencies.len() - errors) as f64 / elapsed.as_secs_f64(),
        p50: percentile(0.50),
        p99: percentile(0.99),
        errors,
    }
}

fn print(name: &str, figures: &Figures) {
    println!(
        "{name:<24} {:>8.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
        figures.achieved_per_second,
        figures.p50.as_secs_f64() * 1000.0,
        figures.p99.as_secs_f64() * 1000.0,
        figures.errors
    );
}

fn main() {
    let rate: u32 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(400);
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    let open_tasks: i64 = std::env::var("BENCH_OPEN_TASKS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let world = World::start().await;
        let worker = world.popug("worker", Role::Worker).await;
        world.popug("accountant", Role::Accountant).await;
        let manager = world.popug("manager", Role::Manager).await;
        let channel = tonic::transport::Endpoint::from_shared(world.tracker.endpoint()).unwrap().connect().await.unwrap();

        let health = || {
            let mut client = HealthClient::new(channel.clone());
            async move { client.check(HealthCheckRequest { service: String::new() }).await.is_ok() }
        };
        let create = || {
            let mut client = api::tracker_service_client::TrackerServiceClient::new(channel.clone());
            let request = signed(api::CreateTaskRequest { description: "benchmark task".to_owned(), ..Default::default() }, &worker.token);
            async move { client.create_task(request).await.is_ok() }
        };
        let duration = Duration::from_secs(seconds);
        open_loop(rate, Duration::from_millis(500), health).await;
        open_loop(rate, Duration::from_millis(500), create).await;
        let health_figures = open_loop(rate, duration, health).await;
        let create_figures = open_loop(rate, duration, create).await;
        println!("offered load: {rate} calls/s for {seconds} s, one connection");
        print("health check", &health_figures);
        print("create task", &create_figures);

        // Seed the open tasks directly (what is measured is the reshuffle, not their creation).
        let mut conn = world.tracker_pool.get().await.unwrap();
        diesel::sql_query(
            "INSERT INTO tasks (public_id, description, status, assignee_id, creator_id, fee_cents, reward_cents, created_at) \
             SELECT gen_random_uuid(), 'seeded ' || n, 'open', $1, $1, 1500, 3000, now() FROM generate_series(1, $2) AS n",
        )
        .bind::<diesel::sql_types::Uuid, _>(worker.id)
        .bind::<diesel::sql_types::BigInt, _>(open_tasks)
        .execute(&mut conn)
        .await
        .unwrap();
        let open = world.count("SELECT count(*) AS n FROM tasks WHERE status = 'open'").await;
        // Wait until creation events from the first part are out, so the clock measures the reshuffle.
        while world.count("SELECT count(*) AS n FROM outbox_events").await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let started = Instant::now();
        let reshuffle = world.reshuffle(&manager).await;
        let committed = started.elapsed();
        while world.count("SELECT count(*) AS n FROM outbox_events").await > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let confirmed = started.elapsed();
        println!(
            "reshuffle of {open} open tasks: committed after {:.2} s, last of {} events confirmed after {:.2} s",
            committed.as_secs_f64(),
            (open + 499) / 500,
            confirmed.as_secs_f64()
        );
        assert_eq!(reshuffle.reassigned_count, open);
    });
}
