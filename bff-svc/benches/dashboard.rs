//! The BFF's cost: `GetManagementDashboard` through the BFF next to the same three accounting
//! calls made directly by the client (two at once, then the range, as the BFF makes them), and
//! next to one direct accounting call, all in the same run against one real accounting.
//!
//! `BENCH_CALLS` (default 500) calls of each, one after another, after 50 of warm-up.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::bff::v1 as api;
use ates_contracts::ates::bff::v1::accounting_dashboard_service_client::AccountingDashboardServiceClient;
use ates_testkit::accounting::Ledger;
use ates_testkit::{RunningService, signed};
use bff_svc::config::BffConfig;
use tonic::transport::Channel;

fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (at(0.50), at(0.99))
}

async fn measure<F, Fut>(calls: usize, call: F) -> (Duration, Duration)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..50 {
        call().await;
    }
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call().await;
        latencies.push(started.elapsed());
    }
    percentiles(latencies)
}

async fn direct_dashboard(client: &AccountingServiceClient<Channel>, token: &str) {
    let (mut today, mut balances, mut range) = (client.clone(), client.clone(), client.clone());
    let (today, _) = tokio::try_join!(
        today.get_today_management_earnings(signed(
            accounting::GetTodayManagementEarningsRequest {},
            token
        )),
        balances.list_balances(signed(
            accounting::ListBalancesRequest {
                page_size: 1,
                page_token: String::new(),
            },
            token
        )),
    )
    .unwrap();
    let to = today.into_inner().today.unwrap().business_date;
    let from = (chrono::NaiveDate::parse_from_str(&to, "%Y-%m-%d").unwrap()
        - chrono::Duration::days(29))
    .to_string();
    range
        .get_management_earnings(signed(
            accounting::GetManagementEarningsRequest {
                from_date: from,
                to_date: to,
            },
            token,
        ))
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(500);
    let ledger = Ledger::start().await;
    let token = ledger.auth.admin_token().await;
    let config = ates_testkit::service_config(
        "postgres://unused.invalid/none",
        &ledger.auth.broker,
        &ledger.auth.endpoint(),
    );
    let accounting_url = ledger.accounting.endpoint();
    let bff = RunningService::start(bff_svc::app::spec(), config, move |application| {
        bff_svc::app::wiring_with(
            application,
            BffConfig {
                accounting_url,
                ..BffConfig::local()
            },
        )
    })
    .await
    .unwrap();
    let dashboard = AccountingDashboardServiceClient::connect(bff.endpoint())
        .await
        .unwrap();
    let direct = AccountingServiceClient::connect(ledger.accounting.endpoint())
        .await
        .unwrap();

    let through_bff = measure(calls, || {
        let mut client = dashboard.clone();
        let token = token.clone();
        async move {
            client
                .get_management_dashboard(signed(
                    api::GetManagementDashboardRequest::default(),
                    &token,
                ))
                .await
                .unwrap();
        }
    })
    .await;
    let same_calls_direct = measure(calls, || direct_dashboard(&direct, &token)).await;
    let one_call = measure(calls, || {
        let mut client = direct.clone();
        let token = token.clone();
        async move {
            client
                .get_today_management_earnings(signed(
                    accounting::GetTodayManagementEarningsRequest {},
                    &token,
                ))
                .await
                .unwrap();
        }
    })
    .await;
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!("GetManagementDashboard, {calls} sequential calls each (ms):");
    println!("  {:<46} {:>8} {:>8}", "", "p50", "p99");
    for (name, (p50, p99)) in [
        ("through the BFF", through_bff),
        ("the same three accounting calls, direct", same_calls_direct),
        ("one accounting call (today's earnings), direct", one_call),
    ] {
        println!("  {name:<46} {:>8.2} {:>8.2}", ms(p50), ms(p99));
    }
    println!(
        "  BFF / direct: p50 {:.2}x, p99 {:.2}x",
        ms(through_bff.0) / ms(same_calls_direct.0),
        ms(through_bff.1) / ms(same_calls_direct.1)
    );
}
