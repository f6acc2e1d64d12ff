//! The task schema change (v2: title and jira id) made on a running system, as ARCHITECTURE.md's
//! runbook does it: consumers that read both versions first, then the tracker moves from v1 to
//! v2 in the middle of a business day. And what happens to a v2 event that reaches a consumer
//! that does not read v2: it is parked with its reason, and applied once when replayed after the
//! consumer is upgraded.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_contracts::routing::{self, Service};
use system::day::{self, Day};
use system::{ADMIN_BEAK, Process, System, signed};

/// How many events of `event_type` the process's consumers applied (its inbox).
async fn applied(process: &Process, event_type: &str) -> i64 {
    process
        .count(&format!(
            "SELECT count(*) AS n FROM inbox_events WHERE event_type = '{event_type}'"
        ))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tracker_moves_from_v1_to_v2_events_mid_day_and_every_statement_still_equals_the_books()
{
    let seed = day::seed(20_261_203);
    // Consumers of this release read both versions; the tracker starts on v1, as it runs before
    // the upgrade.
    let system = System::start_configured(&[
        ("TRACKER_TASK_EVENTS_VERSION", "v1"),
        ("TRACKER_BACKFILL_INTERVAL_SECONDS", "1"),
    ])
    .await;
    let analytics = system.start_analytics().await;
    let mut day = Day::begin(&system, seed).await;
    for _ in 0..50 {
        day.step().await;
    }

    // The upgrade: the tracker is stopped as Kubernetes stops a pod and comes back publishing
    // v2; accounting and analytics keep running. Calls meanwhile are retried by the day.
    system
        .tracker
        .set_env("TRACKER_TASK_EVENTS_VERSION", Some("v2"));
    assert!(system.tracker.stop().await, "the tracker stops cleanly");
    system.tracker.restart().await;
    for _ in 0..50 {
        day.step().await;
    }

    // Money, every statement line (with the title and jira id of each task, including those
    // created under v1, which the backfill announced) and analytics equal the books.
    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(90)).await;
    day.check_analytics(&system, &analytics.endpoint, Duration::from_secs(60))
        .await;
    system.assert_no_dead_letters(seed).await;
    assert_eq!(
        system
            .tracker
            .count(
                "SELECT count(*) AS n FROM tasks \
                 WHERE announced_revision IS DISTINCT FROM description_revision"
            )
            .await,
        0,
        "seed {seed}: every task's title was announced"
    );

    // Each consumer applied both versions.
    for (process, event_types) in [
        (
            &system.accounting,
            [
                "ates.tracker.events.v1.TaskAdded",
                "ates.tracker.events.v2.TaskAdded",
                "ates.tracker.events.v2.TaskDetailsUpdated",
            ],
        ),
        (
            &analytics,
            [
                "ates.tracker.events.v1.TaskCreated",
                "ates.tracker.events.v2.TaskCreated",
                "ates.tracker.events.v2.TaskDetailsUpdated",
            ],
        ),
    ] {
        for event_type in event_types {
            let count = applied(process, event_type).await;
            eprintln!("seed {seed}: {} applied {count} {event_type}", process.name);
            assert!(
                count > 0,
                "seed {seed}: {} applied no {event_type}",
                process.name
            );
        }
    }
}

/// The v2 events accounting reads.
const ACCOUNTING_V2: &str = "ates.tracker.events.v2.TaskAdded,\
                             ates.tracker.events.v2.TasksReassigned,\
                             ates.tracker.events.v2.TaskDetailsUpdated";

async fn dead_letters(system: &System, arguments: &[&str]) -> String {
    let output = tokio::process::Command::new(system::binary("ates-dead-letters"))
        .args(arguments)
        .env("AMQP_URL", system.broker.url())
        .env("AMQP_NAME_PREFIX", system.broker.prefix())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ates-dead-letters {arguments:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn statement(
    system: &System,
    account: &str,
    token: &str,
) -> accounting::GetStatementResponse {
    system
        .accounting()
        .await
        .get_statement(signed(
            accounting::GetStatementRequest {
                account_id: account.to_owned(),
                ..Default::default()
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_v2_event_a_consumer_does_not_read_is_parked_and_applied_once_when_replayed_after_its_upgrade()
 {
    let system = System::start().await;
    // Accounting as a release that does not read v2 yet behaves: it sets v2 aside.
    system
        .accounting
        .set_env("CONSUMER_PARK_EVENT_TYPES", Some(ACCOUNTING_V2));
    system.accounting.restart().await;

    let (worker, token) = system.new_worker("parked@uberpopug.test").await;
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    let task = system
        .create_task_once_assignable(&admin, "[POP-1] Fix the button")
        .await;
    assert_eq!(task.assignee_id, worker);

    // The fee's v2 TaskAdded is parked with its reason.
    let queue = routing::subscriptions_of(Service::Accounting)
        .into_iter()
        .find(|subscription| subscription.exchange == routing::TRACKER_TASK_LIFECYCLE)
        .unwrap()
        .queue();
    let listed = ates_testkit::eventually(Duration::from_secs(30), || async {
        let listed = dead_letters(&system, &["list", &queue]).await;
        listed.contains("1 parked").then_some(listed)
    })
    .await
    .expect("the v2 TaskAdded is parked");
    assert!(
        listed.contains("ates.tracker.events.v2.TaskAdded")
            && listed.contains("CONSUMER_PARK_EVENT_TYPES"),
        "{listed}"
    );

    // The rest keeps flowing: the completion (TaskCompleted has one version) is applied.
    system
        .tracker()
        .await
        .complete_task(signed(
            tracker::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap();
    let rewarded = ates_testkit::eventually(Duration::from_secs(30), || async {
        let statement = statement(&system, &worker, &token).await;
        (statement.closing_balance_cents == task.reward_cents).then_some(statement)
    })
    .await
    .expect("the reward is applied while the fee is parked");
    assert_eq!(rewarded.entries.len(), 1);

    // The upgrade: accounting reads v2 again, and the parked event is replayed.
    system.accounting.set_env("CONSUMER_PARK_EVENT_TYPES", None);
    system.accounting.restart().await;
    let replayed = dead_letters(&system, &["replay", &queue]).await;
    assert!(replayed.contains("1 moved back"), "{replayed}");
    let expected = task.reward_cents - task.fee_cents;
    let settled = ates_testkit::eventually(Duration::from_secs(30), || async {
        let statement = statement(&system, &worker, &token).await;
        (statement.closing_balance_cents == expected).then_some(statement)
    })
    .await
    .expect("the replayed fee is applied");
    let fees: Vec<&accounting::Entry> = settled
        .entries
        .iter()
        .filter(|entry| entry.kind == accounting::EntryKind::AssignmentFee as i32)
        .collect();
    assert_eq!(fees.len(), 1);
    assert_eq!(
        (fees[0].task_title.as_str(), fees[0].task_jira_id.as_str()),
        ("Fix the button", "POP-1"),
        "the fee carries what v2 says"
    );

    // Exactly once: the dead-letter queue is empty, and a while later the money has not moved.
    assert!(
        dead_letters(&system, &["list", &queue])
            .await
            .contains("0 parked")
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = statement(&system, &worker, &token).await;
    assert_eq!(later.closing_balance_cents, expected);
    assert_eq!(later.entries.len(), 2);
    assert_eq!(
        applied(&system.accounting, "ates.tracker.events.v2.TaskAdded").await,
        1
    );
}
