//! analytics in this process with a real auth; the test plays the tracker and accounting,
//! publishing their events and snapshot batches as they would, in any order and twice.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ates_contracts::ates::accounting::events::v1 as accounting;
use ates_contracts::ates::analytics::v1 as api;
use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::events::v1::SnapshotBatch;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_contracts::ates::tracker::events::v2 as tracker_v2;
use ates_contracts::time::timestamp;
use ates_testkit::analytics::Dashboard;
use ates_testkit::signed;
use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use tonic::Code;
use uuid::Uuid;

/// Noon of `date` plus `minutes`.
fn at(date: NaiveDate, minutes: i64) -> DateTime<Utc> {
    date.and_hms_opt(12, 0, 0).unwrap().and_utc() + Days::minutes(minutes)
}

/// A task the test plays through the tracker and accounting.
struct Task {
    id: Uuid,
    reward_cents: i64,
    fee_cents: i64,
}

/// The events of a small history, as the tracker and accounting would send them, and what
/// analytics must answer from them.
struct History {
    events: Vec<(Event, DateTime<Utc>)>,
    today: NaiveDate,
    fees_today: i64,
    rewards_today: i64,
    /// The winners of two days ago (a tie broken by the task id), yesterday and today.
    winners: [api::TaskPrice; 3],
}

enum Event {
    Created(tracker::TaskCreated),
    Described(tracker::TaskDescriptionUpdated),
    /// Task events of schema version 2 (title and jira id).
    CreatedV2(tracker_v2::TaskCreated),
    DetailedV2(tracker_v2::TaskDetailsUpdated),
    Entry(accounting::AuditLogEntryCreated),
    Bill(accounting::BillUpdated),
}

fn entry(
    account: Uuid,
    task: &Task,
    kind: accounting::EntryKind,
    date: NaiveDate,
    time: DateTime<Utc>,
) -> accounting::AuditLogEntryCreated {
    let amount_cents = match kind {
        accounting::EntryKind::AssignmentFee => -task.fee_cents,
        _ => task.reward_cents,
    };
    accounting::AuditLogEntryCreated {
        entry_id: Uuid::new_v4().to_string(),
        account_id: account.to_string(),
        task_id: task.id.to_string(),
        amount_cents,
        kind: kind as i32,
        business_date: date.to_string(),
        occurred_at: Some(timestamp(time)),
    }
}

fn history(workers: [Uuid; 2]) -> History {
    let today = Utc::now().date_naive();
    let yesterday = today - Days::days(1);
    let before = today - Days::days(2);
    let task = |reward_cents, fee_cents| Task {
        id: Uuid::new_v4(),
        reward_cents,
        fee_cents,
    };
    // Two days ago: two tasks of the same reward completed at the same instant.
    let (mut tie_a, mut tie_b) = (task(3_000, 1_000), task(3_000, 1_200));
    if tie_b.id < tie_a.id {
        std::mem::swap(&mut tie_a, &mut tie_b);
    }
    let old = task(2_500, 1_500);
    let cheap = task(2_000, 1_000);
    let rich_late = task(4_000, 2_000);
    let rich_early = task(4_000, 1_100);
    let open = task(3_900, 1_700);
    let mut events = Vec::new();
    for (task, date) in [
        (&tie_a, before),
        (&tie_b, before),
        (&old, yesterday),
        (&cheap, today),
        (&rich_late, today),
        (&rich_early, today),
        (&open, today),
    ] {
        // Today's winner is created after the schema change (v2), the others before (v1).
        let created = if task.id == rich_early.id {
            Event::CreatedV2(tracker_v2::TaskCreated {
                task_id: task.id.to_string(),
                description: format!("task {}", task.id),
                fee_cents: task.fee_cents,
                reward_cents: task.reward_cents,
                created_at: Some(timestamp(at(date, 0))),
                title: "A rich task".to_owned(),
                jira_id: "UBERPOP-7".to_owned(),
            })
        } else {
            Event::Created(tracker::TaskCreated {
                task_id: task.id.to_string(),
                description: format!("task {}", task.id),
                fee_cents: task.fee_cents,
                reward_cents: task.reward_cents,
                created_at: Some(timestamp(at(date, 0))),
            })
        };
        events.push((created, at(date, 0)));
        events.push((
            Event::Entry(entry(
                workers[0],
                task,
                accounting::EntryKind::AssignmentFee,
                date,
                at(date, 0),
            )),
            at(date, 0),
        ));
    }
    // The open task is reassigned (a second fee) today.
    events.push((
        Event::Entry(entry(
            workers[1],
            &open,
            accounting::EntryKind::AssignmentFee,
            today,
            at(today, 5),
        )),
        at(today, 5),
    ));
    for (task, date, minutes) in [
        (&tie_a, before, 30),
        (&tie_b, before, 30),
        (&old, yesterday, 30),
        (&cheap, today, 10),
        (&rich_late, today, 50),
        (&rich_early, today, 20),
    ] {
        events.push((
            Event::Entry(entry(
                workers[0],
                task,
                accounting::EntryKind::CompletionReward,
                date,
                at(date, minutes),
            )),
            at(date, minutes),
        ));
    }
    // A payout yesterday: money moves, management earns nothing from it.
    events.push((
        Event::Entry(accounting::AuditLogEntryCreated {
            entry_id: Uuid::new_v4().to_string(),
            account_id: workers[0].to_string(),
            task_id: String::new(),
            amount_cents: -777,
            kind: accounting::EntryKind::Payout as i32,
            business_date: yesterday.to_string(),
            occurred_at: Some(timestamp(at(yesterday, 700))),
        }),
        at(yesterday, 700),
    ));
    // The winner of today is described three times, in both versions; revision 2 (v1, from an
    // old client) arrives last and must lose, and its title and jira id stay those of v2.
    events.push((
        Event::DetailedV2(tracker_v2::TaskDetailsUpdated {
            task_id: rich_early.id.to_string(),
            description: "the newest description".to_owned(),
            revision: 3,
            title: "The newest title".to_owned(),
            jira_id: "UBERPOP-7".to_owned(),
        }),
        at(today, 60),
    ));
    events.push((
        Event::Described(tracker::TaskDescriptionUpdated {
            task_id: rich_early.id.to_string(),
            description: "an older description".to_owned(),
            revision: 2,
        }),
        at(today, 60),
    ));
    // Balances: worker 0 ends positive, worker 1 negative; a stale update comes after the new.
    for (account, balance_cents, revision) in [
        (workers[0], 4_200, 12),
        (workers[1], -1_700, 1),
        (workers[0], -300, 3),
    ] {
        events.push((
            Event::Bill(accounting::BillUpdated {
                account_id: account.to_string(),
                balance_cents,
                as_of: Some(timestamp(at(today, 90))),
                revision,
                ..Default::default()
            }),
            at(today, 90),
        ));
    }
    let price = |task: &Task, description: String, date: NaiveDate| api::TaskPrice {
        task_id: task.id.to_string(),
        description,
        reward_cents: task.reward_cents,
        completed_on: date.to_string(),
        // Tasks heard of in v1 events only have no title.
        title: String::new(),
        jira_id: String::new(),
    };
    History {
        events,
        today,
        fees_today: cheap.fee_cents
            + rich_late.fee_cents
            + rich_early.fee_cents
            + 2 * open.fee_cents,
        rewards_today: cheap.reward_cents + rich_late.reward_cents + rich_early.reward_cents,
        winners: [
            price(&tie_a, format!("task {}", tie_a.id), before),
            price(&old, format!("task {}", old.id), yesterday),
            api::TaskPrice {
                title: "The newest title".to_owned(),
                jira_id: "UBERPOP-7".to_owned(),
                ..price(&rich_early, "the newest description".to_owned(), today)
            },
        ],
    }
}

async fn publish(
    dashboard: &Dashboard,
    event: &Event,
    at: DateTime<Utc>,
) -> (String, String, Vec<u8>) {
    let (exchange, key, body) = match event {
        Event::Created(event) => (
            "ates.tracker.tasks",
            "ates.tracker.events.v1.TaskCreated",
            dashboard.publish(event, at).await,
        ),
        Event::Described(event) => (
            "ates.tracker.tasks",
            "ates.tracker.events.v1.TaskDescriptionUpdated",
            dashboard.publish(event, at).await,
        ),
        Event::CreatedV2(event) => (
            "ates.tracker.tasks",
            "ates.tracker.events.v2.TaskCreated",
            dashboard.publish(event, at).await,
        ),
        Event::DetailedV2(event) => (
            "ates.tracker.tasks",
            "ates.tracker.events.v2.TaskDetailsUpdated",
            dashboard.publish(event, at).await,
        ),
        Event::Entry(event) => (
            "ates.accounting.audit-log",
            "ates.accounting.events.v1.AuditLogEntryCreated",
            dashboard.publish(event, at).await,
        ),
        Event::Bill(event) => (
            "ates.accounting.bills",
            "ates.accounting.events.v1.BillUpdated",
            dashboard.publish(event, at).await,
        ),
    };
    (exchange.to_owned(), key.to_owned(), body)
}

/// Everything analytics answers, in one value.
#[derive(Debug, Clone, PartialEq)]
struct Answers {
    summary: api::GetSummaryResponse,
    day: Option<api::TaskPrice>,
    week: Option<api::TaskPrice>,
    month: Option<api::TaskPrice>,
    series: Vec<api::DayMostExpensiveTask>,
}

async fn answers(dashboard: &Dashboard, today: NaiveDate) -> Answers {
    let mut client = dashboard.client().await;
    let admin = dashboard.admin();
    let summary = client
        .get_summary(signed(api::GetSummaryRequest {}, admin))
        .await
        .unwrap()
        .into_inner();
    let winner = async |period: api::Period| {
        client
            .clone()
            .get_most_expensive_task(signed(
                api::GetMostExpensiveTaskRequest {
                    period: period as i32,
                    end_date: today.to_string(),
                },
                admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .task
    };
    let day = winner(api::Period::Day).await;
    let week = winner(api::Period::Week).await;
    let month = winner(api::Period::Month).await;
    let series = client
        .get_most_expensive_task_series(signed(
            api::GetMostExpensiveTaskSeriesRequest {
                from_date: (today - Days::days(3)).to_string(),
                to_date: today.to_string(),
            },
            admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .days;
    Answers {
        summary,
        day,
        week,
        month,
        series,
    }
}

fn expected(history: &History, rebuilding: bool) -> Answers {
    let today = history.today;
    let [before, yesterday, now] = history.winners.clone();
    Answers {
        summary: api::GetSummaryResponse {
            business_date: today.to_string(),
            management_earnings_cents: history.fees_today - history.rewards_today,
            negative_balance_count: 1,
            rebuilding,
            worker_count: 2,
        },
        day: Some(now.clone()),
        week: Some(now.clone()),
        month: Some(now.clone()),
        series: vec![
            api::DayMostExpensiveTask {
                business_date: (today - Days::days(3)).to_string(),
                task: None,
            },
            api::DayMostExpensiveTask {
                business_date: (today - Days::days(2)).to_string(),
                task: Some(before),
            },
            api::DayMostExpensiveTask {
                business_date: (today - Days::days(1)).to_string(),
                task: Some(yesterday),
            },
            api::DayMostExpensiveTask {
                business_date: today.to_string(),
                task: Some(now),
            },
        ],
    }
}

async fn wait_for(dashboard: &Dashboard, wanted: &Answers) -> Answers {
    let mut last = answers(dashboard, wanted_today(wanted)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while last != *wanted && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = answers(dashboard, wanted_today(wanted)).await;
    }
    last
}

fn wanted_today(wanted: &Answers) -> NaiveDate {
    wanted.summary.business_date.parse().unwrap()
}

async fn two_workers(dashboard: &Dashboard) -> [Uuid; 2] {
    let mut ids = [Uuid::nil(); 2];
    for (index, id) in ids.iter_mut().enumerate() {
        let (account, _) = dashboard
            .auth
            .create(&format!("worker{index}@uberpopug.test"), Role::Worker)
            .await;
        *id = account.account_id.parse().unwrap();
    }
    ids
}

/// Answers the first resync as the tracker and accounting would: `batches` empty batches per
/// stream, the last one marked, sent in reverse order.
async fn answer_resync(dashboard: &Dashboard, resync: Uuid, batches: u32) {
    let batch = |stream: &str, index: u32| SnapshotBatch {
        resync_id: resync.to_string(),
        stream: stream.to_owned(),
        index,
        last: index + 1 == batches,
    };
    for index in (0..batches).rev() {
        dashboard
            .publish(
                &tracker::TasksSnapshot {
                    batch: Some(batch("tasks", index)),
                    tasks: Vec::new(),
                },
                Utc::now(),
            )
            .await;
        dashboard
            .publish(
                &accounting::BillsSnapshot {
                    batch: Some(batch("bills", index)),
                    bills: Vec::new(),
                },
                Utc::now(),
            )
            .await;
        dashboard
            .publish(
                &accounting::AuditLogSnapshot {
                    batch: Some(batch("audit-log", index)),
                    entries: Vec::new(),
                },
                Utc::now(),
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_in_any_order_and_delivered_twice_give_the_same_answers() {
    let dashboard = Dashboard::start().await;
    let workers = two_workers(&dashboard).await;
    let history = history(workers);

    // Right after its first start analytics waits for the snapshots it asked for: auth answers
    // by itself, the test answers for the tracker and accounting.
    let first_resync = dashboard.first_resync().await;
    let summary = answers(&dashboard, history.today).await.summary;
    assert!(summary.rebuilding, "{summary:?}");
    answer_resync(&dashboard, first_resync, 2).await;

    // Every event, newest first (entries before their tasks, updates before what they update),
    // and then every message again byte for byte.
    let mut sent = Vec::new();
    for (event, time) in history.events.iter().rev() {
        sent.push(publish(&dashboard, event, *time).await);
    }
    let wanted = expected(&history, false);
    assert_eq!(wait_for(&dashboard, &wanted).await, wanted);
    for (exchange, key, body) in &sent {
        dashboard.publish_bytes(exchange, key, body).await;
    }
    // A marker behind the copies in the audit log's queue: once it counts, the copies were read.
    let marker_date = history.today - Days::days(40);
    dashboard
        .publish(
            &accounting::AuditLogEntryCreated {
                entry_id: Uuid::new_v4().to_string(),
                account_id: workers[1].to_string(),
                task_id: Uuid::new_v4().to_string(),
                amount_cents: -1_000,
                kind: accounting::EntryKind::AssignmentFee as i32,
                business_date: marker_date.to_string(),
                occurred_at: Some(timestamp(at(marker_date, 0))),
            },
            at(marker_date, 0),
        )
        .await;
    let marked = ates_testkit::eventually(Duration::from_secs(30), || async {
        (dashboard
            .count(&format!(
                "SELECT count(*) AS n FROM day_totals WHERE business_date = '{marker_date}'"
            ))
            .await
            == 1)
            .then_some(())
    })
    .await;
    assert!(marked.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(answers(&dashboard, history.today).await, wanted);
    assert_eq!(
        dashboard.count("SELECT count(*) AS n FROM entries").await,
        history
            .events
            .iter()
            .filter(|(event, _)| matches!(event, Event::Entry(_)))
            .count() as i64
            + 1,
        "every entry once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wiped_rebuild_takes_snapshots_merged_with_changes_and_is_complete_only_with_every_batch()
{
    let dashboard = Dashboard::start().await;
    let workers = two_workers(&dashboard).await;
    let history = history(workers);
    answer_resync(&dashboard, dashboard.first_resync().await, 1).await;
    for (event, time) in &history.events {
        publish(&dashboard, event, *time).await;
    }
    let wanted = expected(&history, false);
    assert_eq!(wait_for(&dashboard, &wanted).await, wanted);

    // An admin wipes analytics and asks for a resync; the test answers as the tracker and
    // accounting: the state, in batches, with stale snapshot items (an older description, an
    // older balance) that must lose to the changes already heard again.
    let resync = dashboard.request_resync(true).await;
    let resync_id: Uuid = resync.resync_id.parse().unwrap();
    assert!(resync.requested_at.is_some());
    let emptied = answers(&dashboard, history.today).await;
    assert!(emptied.summary.rebuilding);
    assert_eq!(emptied.day, None, "the projections were emptied");

    let batch = |stream: &str, index: u32, last: bool| {
        Some(SnapshotBatch {
            resync_id: resync_id.to_string(),
            stream: stream.to_owned(),
            index,
            last,
        })
    };
    let mut tasks = Vec::new();
    let mut tasks_v2 = Vec::new();
    let mut entries = Vec::new();
    let mut changes = Vec::new();
    for (event, time) in &history.events {
        match event {
            Event::Created(created) => tasks.push(tracker::tasks_snapshot::Task {
                task_id: created.task_id.clone(),
                description: created.description.clone(),
                description_revision: 1,
                fee_cents: created.fee_cents,
                reward_cents: created.reward_cents,
                created_at: created.created_at,
            }),
            // The tracker sends a task of v2 as it is now (its details at revision 3), in a
            // batch of v2 snapshots of the same stream.
            Event::CreatedV2(created) => tasks_v2.push(tracker_v2::tasks_snapshot::Task {
                task_id: created.task_id.clone(),
                description: "the newest description".to_owned(),
                details_revision: 3,
                fee_cents: created.fee_cents,
                reward_cents: created.reward_cents,
                created_at: created.created_at,
                title: "The newest title".to_owned(),
                jira_id: created.jira_id.clone(),
            }),
            Event::Entry(entry) => entries.push(entry.clone()),
            // Changes made while the snapshot is read arrive as events again.
            Event::Described(_) | Event::DetailedV2(_) | Event::Bill(_) => {
                changes.push((event, *time));
            }
        }
    }
    let (first_half, second_half) = entries.split_at(entries.len() / 2);
    // The audit log's last batch arrives first; its batch 0 is still missing.
    dashboard
        .publish(
            &accounting::AuditLogSnapshot {
                batch: batch("audit-log", 1, true),
                entries: second_half.to_vec(),
            },
            Utc::now(),
        )
        .await;
    dashboard
        .publish(
            &tracker_v2::TasksSnapshot {
                batch: batch("tasks", 1, true),
                tasks: tasks_v2,
            },
            Utc::now(),
        )
        .await;
    dashboard
        .publish(
            &tracker::TasksSnapshot {
                batch: batch("tasks", 0, false),
                tasks,
            },
            Utc::now(),
        )
        .await;
    dashboard
        .publish(
            &accounting::BillsSnapshot {
                batch: batch("bills", 0, true),
                bills: vec![accounting::bills_snapshot::Bill {
                    account_id: workers[0].to_string(),
                    balance_cents: -300,
                    as_of: None,
                    revision: 3,
                }],
            },
            Utc::now(),
        )
        .await;
    for (event, time) in changes {
        publish(&dashboard, event, time).await;
    }
    // Accounts come from auth's own snapshot. Everything but audit-log batch 0 is here: the
    // resync is not complete, and today's figures lack the first half of the entries.
    let waiting = ates_testkit::eventually(Duration::from_secs(30), || async {
        let now = answers(&dashboard, history.today).await;
        (now.summary.worker_count == 2 && now.summary.negative_balance_count == 1).then_some(now)
    })
    .await
    .unwrap();
    assert!(waiting.summary.rebuilding, "{waiting:?}");

    dashboard
        .publish(
            &accounting::AuditLogSnapshot {
                batch: batch("audit-log", 0, false),
                entries: first_half.to_vec(),
            },
            Utc::now(),
        )
        .await;
    assert_eq!(wait_for(&dashboard, &wanted).await, wanted);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_naming_the_field_and_only_admins_may_ask() {
    let dashboard = Dashboard::start().await;
    let client = dashboard.client().await;
    let admin = dashboard.admin().to_owned();
    let most_expensive = |period: i32, end_date: &str, token: &str| {
        let mut client = client.clone();
        let request = signed(
            api::GetMostExpensiveTaskRequest {
                period,
                end_date: end_date.to_owned(),
            },
            token,
        );
        async move { client.get_most_expensive_task(request).await.unwrap_err() }
    };
    let series = |from: &str, to: &str, token: &str| {
        let mut client = client.clone();
        let request = signed(
            api::GetMostExpensiveTaskSeriesRequest {
                from_date: from.to_owned(),
                to_date: to.to_owned(),
            },
            token,
        );
        async move {
            client
                .get_most_expensive_task_series(request)
                .await
                .unwrap_err()
        }
    };
    ates_testkit::assert_refusals(&[
        (
            "no period",
            most_expensive(api::Period::Unspecified as i32, "", &admin).await,
            Code::InvalidArgument,
            "period",
        ),
        (
            "no such period",
            most_expensive(9, "", &admin).await,
            Code::InvalidArgument,
            "period",
        ),
        (
            "malformed end",
            most_expensive(api::Period::Week as i32, "2026-13-01", &admin).await,
            Code::InvalidArgument,
            "end_date",
        ),
        (
            "missing start",
            series("", "2026-11-30", &admin).await,
            Code::InvalidArgument,
            "from_date",
        ),
        (
            "malformed end of a series",
            series("2026-11-01", "30.11.2026", &admin).await,
            Code::InvalidArgument,
            "to_date",
        ),
        (
            "reversed",
            series("2026-11-30", "2026-11-01", &admin).await,
            Code::InvalidArgument,
            "to_date",
        ),
        (
            "367 days",
            series("2025-01-01", "2026-01-02", &admin).await,
            Code::InvalidArgument,
            "to_date",
        ),
    ]);
    // A range of exactly 366 days is answered, one item per date.
    let mut answered = client.clone();
    let days = answered
        .get_most_expensive_task_series(signed(
            api::GetMostExpensiveTaskSeriesRequest {
                from_date: "2024-01-01".into(),
                to_date: "2024-12-31".into(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .days;
    assert_eq!(days.len(), 366);
    assert!(days.iter().all(|day| day.task.is_none()));

    for (name, role) in [
        ("manager", Role::Manager),
        ("accountant", Role::Accountant),
        ("worker", Role::Worker),
    ] {
        let (_, beak) = dashboard
            .auth
            .create(&format!("{name}@uberpopug.test"), role)
            .await;
        let token = dashboard.auth.sign_in(&beak).await.access_token;
        let mut client = client.clone();
        let refusals = [
            client
                .get_summary(signed(api::GetSummaryRequest {}, &token))
                .await
                .unwrap_err(),
            most_expensive(api::Period::Day as i32, "", &token).await,
            series("2026-11-01", "2026-11-02", &token).await,
            client
                .resync_projections(signed(api::ResyncProjectionsRequest::default(), &token))
                .await
                .unwrap_err(),
        ];
        for refusal in refusals {
            assert_eq!(
                refusal.code(),
                Code::PermissionDenied,
                "{name}: {refusal:?}"
            );
        }
    }
}
