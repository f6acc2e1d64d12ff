//! The close of a day with `BENCH_ACCOUNTS` (default 10,000) accounts owed money: the time from
//! the CloseBusinessDay call to its answer, to the last BillZeroed confirmed by the broker (the
//! outbox empty), and to the last e-mail accepted by a local SMTP listener; then a second close
//! of the same date, which pays nobody. payouts runs in this process on a real PostgreSQL,
//! RabbitMQ and SMTP listener; the accounts and their earnings are loaded into its tables first,
//! as its consumers would have left them.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use ates_contracts::ates::payouts::v1 as api;
use ates_contracts::ates::payouts::v1::payouts_service_client::PayoutsServiceClient;
use ates_testkit::payouts::{days_ago, payouts_config};
use ates_testkit::{RunningService, SmtpSink, TestDatabase};
use diesel_async::RunQueryDsl;

async fn count(pool: &ates_messaging::DbPool, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = pool.get().await.unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .n
}

async fn wait_until(what: &str, started: Instant, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn run(accounts: i64) {
    let auth = ates_testkit::auth::Auth::start().await;
    let database = TestDatabase::create().await.unwrap();
    let smtp = SmtpSink::start().await.unwrap();
    let config = ates_testkit::service_config(database.url(), &auth.broker, &auth.endpoint());
    let mut payouts_config = payouts_config(&smtp);
    payouts_config.email_senders = payouts_config_senders();
    payouts_config.mail.connections = u32::try_from(payouts_config.email_senders).unwrap();
    let service = RunningService::start(payouts_svc::app::spec(), config, |application| {
        payouts_svc::app::wiring_with(application, payouts_config)
    })
    .await
    .unwrap();
    let senders = payouts_config_senders();
    let pool = ates_storage::pool(database.url(), 4).unwrap();
    let day = days_ago(1);
    {
        let mut conn = pool.get().await.unwrap();
        diesel::sql_query(
            "INSERT INTO accounts (account_id, role, role_revision, email, email_revision) \
             SELECT gen_random_uuid(), 'worker', 1, 'popug' || n || '@uberpopug.test', 1 \
             FROM generate_series(1, $1) AS n",
        )
        .bind::<diesel::sql_types::BigInt, _>(accounts)
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(
            "INSERT INTO daily_earnings (account_id, business_date, earned_cents, revision) \
             SELECT account_id, $1, 1000 + (random() * 3000)::bigint, 2 FROM accounts WHERE email LIKE 'popug%'",
        )
        .bind::<diesel::sql_types::Date, _>(day)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let token = auth.admin_token().await;
    let mut client = PayoutsServiceClient::new(
        tonic::transport::Endpoint::from_shared(service.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let close = |token: &str| {
        ates_testkit::signed(
            api::CloseBusinessDayRequest {
                business_date: day.to_string(),
            },
            token,
        )
    };

    let started = Instant::now();
    let answer = client
        .close_business_day(close(&token))
        .await
        .unwrap()
        .into_inner();
    let answered = started.elapsed();
    assert_eq!(answer.payouts.len() as i64, accounts);
    let confirmed = wait_until("every BillZeroed confirmed", started, async || {
        count(&pool, "SELECT count(*) AS n FROM outbox_events").await == 0
    })
    .await;
    let mailed = wait_until("every e-mail accepted", started, async || {
        smtp.messages().len() as i64 >= accounts
    })
    .await;

    let again = Instant::now();
    let second = client
        .close_business_day(close(&token))
        .await
        .unwrap()
        .into_inner();
    let second_took = again.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(second.already_closed && second.payouts.is_empty());
    assert_eq!(smtp.messages().len() as i64, accounts, "no e-mail twice");

    println!(
        "close of {accounts} accounts owed money, {senders} e-mail senders (release build, this machine)"
    );
    println!(
        "  answered:                 {:>8.2} s",
        answered.as_secs_f64()
    );
    println!(
        "  last BillZeroed confirmed:{:>8.2} s",
        confirmed.as_secs_f64()
    );
    println!(
        "  last e-mail accepted:     {:>8.2} s  ({:.0} e-mails/s)",
        mailed.as_secs_f64(),
        accounts as f64 / mailed.as_secs_f64()
    );
    println!(
        "second close of the same date: {} payouts, {} e-mails, {:.3} s",
        second.payouts.len(),
        smtp.messages().len() as i64 - accounts,
        second_took.as_secs_f64()
    );
    service.stop().await;
}

fn payouts_config_senders() -> usize {
    std::env::var("BENCH_SENDERS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(16)
}

fn main() {
    let accounts = std::env::var("BENCH_ACCOUNTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(accounts));
}
