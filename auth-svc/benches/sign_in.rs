//! Sign-ins per second and their latency, next to the standard health check of the same server
//! in the same run: closed-loop clients on this machine over real gRPC, real PostgreSQL.
//!
//! `BENCH_SECONDS` (default 5) per phase, `BENCH_CLIENTS` (default 16) concurrent clients.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use ates_contracts::ates::auth::v1 as api;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

struct Figures {
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn closed_loop<F, Fut>(clients: usize, duration: Duration, call: F) -> Figures
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut workers = Vec::new();
    for client in 0..clients {
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < duration {
                let begun = Instant::now();
                call(client).await;
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Figures {
        calls_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(0.50),
        p99: percentile(0.99),
    }
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(16);
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let auth = ates_testkit::auth::Auth::start().await;
        let (_, beak) = auth.create("bench@uberpopug.test", api::Role::Worker).await;
        let channel = tonic::transport::Endpoint::from_shared(auth.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();

        let health = {
            let channel = channel.clone();
            move |_| {
                let mut client = HealthClient::new(channel.clone());
                async move {
                    client
                        .check(HealthCheckRequest {
                            service: String::new(),
                        })
                        .await
                        .unwrap();
                }
            }
        };
        let sign_in = {
            let channel = channel.clone();
            move |_| {
                let mut client = api::auth_service_client::AuthServiceClient::new(channel.clone());
                let beak = beak.clone();
                async move {
                    client.sign_in(api::SignInRequest { beak }).await.unwrap();
                }
            }
        };
        // Warm both, then measure health, sign-in, health again.
        closed_loop(clients, Duration::from_millis(500), health.clone()).await;
        closed_loop(clients, Duration::from_millis(500), sign_in.clone()).await;
        let health_before = closed_loop(clients, duration, health.clone()).await;
        let sign_ins = closed_loop(clients, duration, sign_in).await;
        let health_after = closed_loop(clients, duration, health).await;
        let health_rate = (health_before.calls_per_second + health_after.calls_per_second) / 2.0;
        println!("{clients} closed-loop clients, {seconds} s per phase, one gRPC connection");
        for (name, figures) in [
            ("health check (before)", &health_before),
            ("sign-in", &sign_ins),
            ("health check (after)", &health_after),
        ] {
            println!(
                "{name:<22} {:>9.0} calls/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
                figures.calls_per_second,
                figures.p50.as_secs_f64() * 1000.0,
                figures.p99.as_secs_f64() * 1000.0
            );
        }
        println!(
            "sign-in / health rate:  {:>9.2}",
            sign_ins.calls_per_second / health_rate
        );
    });
}
