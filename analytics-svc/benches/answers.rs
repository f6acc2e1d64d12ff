//! The dashboard's answers over a large history, and the rate of a rebuild.
//!
//! analytics runs in this process (with a real auth) on a real PostgreSQL and RabbitMQ. Its
//! projections are loaded first as its consumers would have left them: `BENCH_TASKS` (default
//! 500,000) completed tasks over the last 365 days, each with its assignment fee and completion
//! reward in the audit log (1,000,000 entries), 1,000 workers and their balances. Then, one
//! client calling one call at a time: `GetSummary`, `GetMostExpensiveTask(month)` and a 366-day
//! `GetMostExpensiveTaskSeries`, each beside the standard health check of the same server (a
//! trivial unary call through the same stack) measured in the same run. Last, a wiped resync:
//! the bench plays the tracker and accounting, sending `BENCH_REBUILD_TASKS` (default 100,000)
//! tasks and their 2 entries each as snapshot batches of 1,000, and measures the items applied
//! per second until analytics says the rebuild is complete.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::time::{Duration, Instant};

use ates_contracts::ates::accounting::events::v1 as accounting;
use ates_contracts::ates::analytics::v1 as api;
use ates_contracts::ates::events::v1::SnapshotBatch;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_contracts::time::timestamp;
use ates_testkit::analytics::Dashboard;
use ates_testkit::signed;
use chrono::{Duration as Days, NaiveDate, Utc};
use diesel_async::RunQueryDsl;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use uuid::Uuid;

const BATCH: usize = 1_000;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Loads `tasks` completed tasks over the 365 days ending `today`, their 2 entries each, 1,000
/// workers and their balances (about a third negative), and each date's totals.
async fn load(dashboard: &Dashboard, tasks: usize, today: NaiveDate) {
    let mut conn = dashboard.pool.get().await.unwrap();
    let statements = [
        "CREATE TEMP TABLE bench_workers AS \
         SELECT n, gen_random_uuid() AS account_id FROM generate_series(0, 999) AS n",
        "CREATE TEMP TABLE bench_tasks AS \
         SELECT n, gen_random_uuid() AS task_id, \
                1000 + (random() * 1000)::bigint AS fee_cents, \
                2000 + (random() * 2000)::bigint AS reward_cents, \
                ($2::date - (n % 365)::int) AS business_date, \
                ($2::date - (n % 365)::int)::timestamptz + make_interval(secs => (n % 86000)) AS completed_at \
         FROM generate_series(0, $1 - 1) AS n",
        "INSERT INTO accounts (account_id, role, revision) \
         SELECT account_id, 'worker', 1 FROM bench_workers",
        "INSERT INTO tasks (task_id, description, description_revision, fee_cents, reward_cents, created_at) \
         SELECT task_id, 'Task number ' || n, 1, fee_cents, reward_cents, completed_at - interval '1 hour' \
         FROM bench_tasks",
        "INSERT INTO entries (entry_id, account_id, task_id, kind, amount_cents, business_date, occurred_at) \
         SELECT gen_random_uuid(), w.account_id, t.task_id, 'assignment_fee', -t.fee_cents, t.business_date, \
                t.completed_at - interval '1 hour' \
         FROM bench_tasks t JOIN bench_workers w ON w.n = t.n % 1000 \
         UNION ALL \
         SELECT gen_random_uuid(), w.account_id, t.task_id, 'completion_reward', t.reward_cents, t.business_date, \
                t.completed_at \
         FROM bench_tasks t JOIN bench_workers w ON w.n = t.n % 1000",
        "INSERT INTO day_totals (business_date, fees_cents, rewards_cents) \
         SELECT business_date, sum(fee_cents), sum(reward_cents) FROM bench_tasks GROUP BY business_date",
        "INSERT INTO balances (account_id, balance_cents, revision) \
         SELECT account_id, sum(amount_cents) - CASE WHEN n % 3 = 0 THEN 10000000 ELSE 0 END, count(*) \
         FROM entries JOIN bench_workers USING (account_id) GROUP BY account_id, n",
        "ANALYZE",
    ];
    for statement in statements {
        let query = diesel::sql_query(statement);
        if statement.contains("$1") {
            query
                .bind::<diesel::sql_types::BigInt, _>(tasks as i64)
                .bind::<diesel::sql_types::Date, _>(today)
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            query.execute(&mut conn).await.unwrap();
        }
    }
}

struct Figures {
    p50: Duration,
    p99: Duration,
}

/// Calls `call` `warm_up` times, then `calls` times, one at a time.
async fn measure<F, Fut>(calls: usize, mut call: F) -> Figures
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..calls / 10 {
        call().await;
    }
    let mut took = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call().await;
        took.push(started.elapsed());
    }
    took.sort();
    let at = |quantile: f64| took[((took.len() as f64 * quantile) as usize).min(took.len() - 1)];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn print(name: &str, figures: &Figures, baseline: &Figures) {
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "  {name:<34} p50 {:>7.2} ms  p99 {:>7.2} ms   ({:>5.1}× / {:>5.1}× the health check)",
        ms(figures.p50),
        ms(figures.p99),
        figures.p50.as_secs_f64() / baseline.p50.as_secs_f64(),
        figures.p99.as_secs_f64() / baseline.p99.as_secs_f64(),
    );
}

/// The answers one call at a time, each next to the health check.
async fn answers(dashboard: &Dashboard, today: NaiveDate, calls: usize) {
    let channel = tonic::transport::Endpoint::from_shared(dashboard.analytics.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = api::analytics_service_client::AnalyticsServiceClient::new(channel.clone());
    let health = HealthClient::new(channel);
    let admin = dashboard.admin().to_owned();

    let health_check = || {
        let mut health = health.clone();
        async move {
            health
                .check(HealthCheckRequest {
                    service: "ates.analytics.v1.AnalyticsService".to_owned(),
                })
                .await
                .unwrap();
        }
    };
    let summary = || {
        let mut client = client.clone();
        let request = signed(api::GetSummaryRequest {}, &admin);
        async move {
            client.get_summary(request).await.unwrap();
        }
    };
    let month = || {
        let mut client = client.clone();
        let request = signed(
            api::GetMostExpensiveTaskRequest {
                period: api::Period::Month as i32,
                end_date: today.to_string(),
            },
            &admin,
        );
        async move {
            let task = client.get_most_expensive_task(request).await.unwrap();
            assert!(task.into_inner().task.is_some());
        }
    };
    let series = || {
        let mut client = client.clone();
        let request = signed(
            api::GetMostExpensiveTaskSeriesRequest {
                from_date: (today - Days::days(365)).to_string(),
                to_date: today.to_string(),
            },
            &admin,
        );
        async move {
            let days = client
                .get_most_expensive_task_series(request)
                .await
                .unwrap()
                .into_inner()
                .days;
            assert_eq!(days.len(), 366);
        }
    };

    let baseline = measure(calls, health_check).await;
    let summary_figures = measure(calls, summary).await;
    let month_figures = measure(calls, month).await;
    let series_figures = measure(calls / 10, series).await;
    let again = measure(calls, health_check).await;
    println!("one call at a time (release build, this machine):");
    print("health check (before)", &baseline, &baseline);
    print("health check (after)", &again, &baseline);
    print("GetSummary", &summary_figures, &baseline);
    print("GetMostExpensiveTask(month)", &month_figures, &baseline);
    print(
        "GetMostExpensiveTaskSeries(366 d)",
        &series_figures,
        &baseline,
    );
}

/// A wiped resync with `tasks` tasks and their entries sent as snapshots; prints items per second.
async fn rebuild(dashboard: &Dashboard, tasks: usize, today: NaiveDate) {
    let resync = dashboard.request_resync(true).await.resync_id;
    let worker = Uuid::new_v4().to_string();
    let batch = |stream: &str, index: usize, count: usize| SnapshotBatch {
        resync_id: resync.clone(),
        stream: stream.to_owned(),
        index: u32::try_from(index).unwrap(),
        last: index + 1 == count.div_ceil(BATCH).max(1),
    };
    let mut messages = Vec::new();
    let task_ids: Vec<String> = (0..tasks).map(|_| Uuid::new_v4().to_string()).collect();
    for (index, chunk) in task_ids.chunks(BATCH).enumerate() {
        let created = timestamp(Utc::now());
        let snapshot = tracker::TasksSnapshot {
            batch: Some(batch("tasks", index, tasks)),
            tasks: chunk
                .iter()
                .map(|task_id| tracker::tasks_snapshot::Task {
                    task_id: task_id.clone(),
                    description: "Rebuilt task".to_owned(),
                    description_revision: 1,
                    fee_cents: 1_500,
                    reward_cents: 3_000,
                    created_at: Some(created),
                })
                .collect(),
        };
        messages.push(Message::Tasks(snapshot));
    }
    let entries: Vec<accounting::AuditLogEntryCreated> = task_ids
        .iter()
        .enumerate()
        .flat_map(|(n, task_id)| {
            let date = today - Days::days(i64::try_from(n % 365).unwrap());
            let at = Some(timestamp(date.and_hms_opt(12, 0, 0).unwrap().and_utc()));
            [
                (accounting::EntryKind::AssignmentFee, -1_500),
                (accounting::EntryKind::CompletionReward, 3_000),
            ]
            .map(|(kind, amount_cents)| accounting::AuditLogEntryCreated {
                entry_id: Uuid::new_v4().to_string(),
                account_id: worker.clone(),
                task_id: task_id.clone(),
                amount_cents,
                kind: kind as i32,
                business_date: date.to_string(),
                occurred_at: at,
            })
        })
        .collect();
    for (index, chunk) in entries.chunks(BATCH).enumerate() {
        messages.push(Message::AuditLog(accounting::AuditLogSnapshot {
            batch: Some(batch("audit-log", index, entries.len())),
            entries: chunk.to_vec(),
        }));
    }
    messages.push(Message::Bills(accounting::BillsSnapshot {
        batch: Some(batch("bills", 0, 1)),
        bills: vec![accounting::bills_snapshot::Bill {
            account_id: worker,
            balance_cents: 1_500 * i64::try_from(tasks).unwrap(),
            as_of: Some(timestamp(Utc::now())),
            revision: 2 * u64::try_from(tasks).unwrap(),
        }],
    }));
    let items = tasks + entries.len() + 1;

    let started = Instant::now();
    for message in &messages {
        match message {
            Message::Tasks(snapshot) => dashboard.publish(snapshot, Utc::now()).await,
            Message::AuditLog(snapshot) => dashboard.publish(snapshot, Utc::now()).await,
            Message::Bills(snapshot) => dashboard.publish(snapshot, Utc::now()).await,
        };
    }
    let published = started.elapsed();
    let mut client = dashboard.client().await;
    let deadline = Instant::now() + Duration::from_secs(1_800);
    loop {
        let summary = client
            .get_summary(signed(api::GetSummaryRequest {}, dashboard.admin()))
            .await
            .unwrap()
            .into_inner();
        if !summary.rebuilding {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rebuild did not complete in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let complete = started.elapsed();
    assert_eq!(
        dashboard.count("SELECT count(*) AS n FROM entries").await,
        i64::try_from(entries.len()).unwrap()
    );
    println!(
        "wiped rebuild: {items} snapshot items in {} batches ({tasks} tasks, {} entries, 1 bill) \
         published in {:.1} s; rebuild complete after {:.1} s: {:.0} items/s",
        messages.len(),
        entries.len(),
        published.as_secs_f64(),
        complete.as_secs_f64(),
        items as f64 / complete.as_secs_f64()
    );
}

enum Message {
    Tasks(tracker::TasksSnapshot),
    AuditLog(accounting::AuditLogSnapshot),
    Bills(accounting::BillsSnapshot),
}

fn main() {
    let tasks = setting("BENCH_TASKS", 500_000);
    let rebuild_tasks = setting("BENCH_REBUILD_TASKS", 100_000);
    let calls = setting("BENCH_CALLS", 2_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let dashboard = Dashboard::start().await;
            let today = Utc::now().date_naive();
            let started = Instant::now();
            load(&dashboard, tasks, today).await;
            println!(
                "loaded {tasks} completed tasks, {} audit-log entries, 1,000 workers in {:.1} s",
                2 * tasks,
                started.elapsed().as_secs_f64()
            );
            answers(&dashboard, today, calls).await;
            rebuild(&dashboard, rebuild_tasks, today).await;
            dashboard.analytics.stop().await;
        });
}
