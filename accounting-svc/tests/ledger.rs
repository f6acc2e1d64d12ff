//! The money rules, against a real accounting fed through RabbitMQ and read over gRPC.

#![allow(clippy::unwrap_used)]

use ates_contracts::ates::accounting::v1 as api;
use ates_contracts::ates::auth::events::v1 as auth;
use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::payouts::events::v1 as payouts;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_contracts::ates::tracker::events::v2 as tracker_v2;
use ates_contracts::routing;
use ates_testkit::accounting::{Ledger, assignment, at, timestamp};
use ates_testkit::{eventually, signed};
use std::time::Duration;
use tonic::Code;
use uuid::Uuid;

const DAY: &str = "2026-11-20";

fn completed(task: Uuid, assignee: Uuid, reward_cents: i64, when: &str) -> tracker::TaskCompleted {
    tracker::TaskCompleted {
        task_id: task.to_string(),
        assignee_id: assignee.to_string(),
        reward_cents,
        completed_at: Some(timestamp(at(when))),
    }
}

fn added(task: Uuid, assignee: Uuid, fee_cents: i64, when: &str) -> tracker::TaskAdded {
    tracker::TaskAdded {
        task_id: task.to_string(),
        assignment: Some(assignment(task, assignee, fee_cents, at(when))),
        creator_id: Uuid::new_v4().to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_assignment_charges_the_fee_even_a_reshuffle_back_to_the_same_popug() {
    let mut ledger = Ledger::start().await;
    let (popug, task) = (Uuid::new_v4(), Uuid::new_v4());
    ledger
        .publish(
            &added(task, popug, 1_500, "2026-11-20T09:00:00Z"),
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    let batch = tracker::TasksReassigned {
        reshuffle_id: Uuid::new_v4().to_string(),
        batch_index: 0,
        batch_count: 1,
        assignments: vec![assignment(task, popug, 1_500, at("2026-11-20T10:00:00Z"))],
    };
    ledger.publish(&batch, at("2026-11-20T10:00:00Z")).await;
    ledger.settle().await;
    assert_eq!(ledger.balance(popug).await, -3_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completion_credits_the_reward() {
    let mut ledger = Ledger::start().await;
    let (popug, task) = (Uuid::new_v4(), Uuid::new_v4());
    ledger
        .publish(
            &added(task, popug, 1_000, "2026-11-20T09:00:00Z"),
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &completed(task, popug, 3_000, "2026-11-20T11:00:00Z"),
            at("2026-11-20T11:00:00Z"),
        )
        .await;
    ledger.settle().await;
    assert_eq!(ledger.balance(popug).await, 2_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_negative_balance_carries_over_to_the_next_day() {
    let mut ledger = Ledger::start().await;
    let (popug, token) = ledger.popug("debtor", Role::Worker).await;
    let task = Uuid::new_v4();
    ledger
        .publish(
            &added(task, popug, 2_000, "2026-11-20T23:59:00Z"),
            at("2026-11-20T23:59:00Z"),
        )
        .await;
    ledger.settle().await;
    let next_day = ledger
        .client()
        .await
        .get_statement(signed(
            api::GetStatementRequest {
                account_id: popug.to_string(),
                business_date: "2026-11-21".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next_day.opening_balance_cents, -2_000);
    assert_eq!(next_day.closing_balance_cents, -2_000);
    assert!(next_day.entries.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn management_earnings_of_a_day_are_its_fees_minus_its_rewards() {
    let mut ledger = Ledger::start().await;
    let (_, accountant) = ledger.popug("accountant", Role::Accountant).await;
    let (one, two, task_a, task_b, old) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    ledger
        .publish(
            &added(old, one, 2_000, "2026-11-19T12:00:00Z"),
            at("2026-11-19T12:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &added(task_a, one, 1_500, "2026-11-20T08:00:00Z"),
            at("2026-11-20T08:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &added(task_b, two, 1_200, "2026-11-20T09:00:00Z"),
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    // The reward of a task assigned the day before counts on the day it is earned.
    ledger
        .publish(
            &completed(old, one, 3_000, "2026-11-20T10:00:00Z"),
            at("2026-11-20T10:00:00Z"),
        )
        .await;
    ledger.settle().await;
    let earnings = ledger
        .client()
        .await
        .get_management_earnings(signed(
            api::GetManagementEarningsRequest {
                from_date: "2026-11-19".into(),
                to_date: "2026-11-21".into(),
            },
            &accountant,
        ))
        .await
        .unwrap()
        .into_inner();
    let days: Vec<(String, i64, i64, i64)> = earnings
        .days
        .iter()
        .map(|day| {
            (
                day.business_date.clone(),
                day.fees_cents,
                day.rewards_cents,
                day.earnings_cents,
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-19".to_owned(), 2_000, 0, 2_000),
            ("2026-11-20".to_owned(), 2_700, 3_000, -300),
            ("2026-11-21".to_owned(), 0, 0, 0),
        ]
    );
    assert_eq!(earnings.total_earnings_cents, 1_700);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_twice_and_the_same_assignment_under_a_new_event_id_apply_once() {
    let mut ledger = Ledger::start().await;
    let (popug, task) = (Uuid::new_v4(), Uuid::new_v4());
    let event = added(task, popug, 1_700, "2026-11-20T09:00:00Z");
    let bytes = ledger.publish(&event, at("2026-11-20T09:00:00Z")).await;
    // Byte for byte again, twice.
    for _ in 0..2 {
        ledger
            .publish_bytes(
                routing::TRACKER_TASK_LIFECYCLE,
                "ates.tracker.events.v1.TaskAdded",
                &bytes,
            )
            .await;
    }
    // The same assignment re-sent by a producer under a new event id.
    ledger.publish(&event, at("2026-11-20T09:00:00Z")).await;
    // The same completion twice under different ids.
    let completion = completed(task, popug, 2_500, "2026-11-20T12:00:00Z");
    ledger
        .publish(&completion, at("2026-11-20T12:00:00Z"))
        .await;
    ledger
        .publish(&completion, at("2026-11-20T12:00:00Z"))
        .await;
    ledger.settle().await;
    assert_eq!(ledger.balance(popug).await, -1_700 + 2_500);
    assert_eq!(ledger.count("SELECT count(*) AS n FROM postings").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_that_arrive_out_of_order_are_applied_correctly() {
    let mut ledger = Ledger::start().await;
    let (popug, token) = ledger.popug("early", Role::Worker).await;
    let task = Uuid::new_v4();
    // The completion and the new description arrive before the task's creation.
    ledger
        .publish(
            &completed(task, popug, 3_500, "2026-11-20T12:00:00Z"),
            at("2026-11-20T12:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &tracker::TaskDescriptionUpdated {
                task_id: task.to_string(),
                description: "the final words".into(),
                revision: 2,
            },
            at("2026-11-20T11:00:00Z"),
        )
        .await;
    ledger.settle().await;
    ledger
        .publish(
            &added(task, popug, 1_100, "2026-11-20T09:00:00Z"),
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    ledger.settle().await;
    assert_eq!(ledger.balance(popug).await, 3_500 - 1_100);
    let statement = ledger
        .client()
        .await
        .get_statement(signed(
            api::GetStatementRequest {
                account_id: popug.to_string(),
                business_date: DAY.into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(statement.entries.len(), 2);
    assert!(
        statement
            .entries
            .iter()
            .all(|entry| entry.task_description == "the final words"),
        "{statement:?}"
    );
    assert_eq!(statement.closing_balance_cents, 2_400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_events_for_one_account_processed_concurrently_end_in_the_exact_balance() {
    let mut ledger = Ledger::start().await;
    // Two accounting processes consume the same queues, as replicas would.
    let _replica = ledger.replica().await;
    let popug = Uuid::new_v4();
    let mut expected = 0;
    for index in 0..500_i64 {
        let task = Uuid::new_v4();
        let fee = 1_000 + (index % 11) * 100;
        let reward = 2_000 + (index % 21) * 100;
        ledger
            .publish(
                &added(task, popug, fee, "2026-11-20T09:00:00Z"),
                at("2026-11-20T09:00:00Z"),
            )
            .await;
        ledger
            .publish(
                &completed(task, popug, reward, "2026-11-20T10:00:00Z"),
                at("2026-11-20T10:00:00Z"),
            )
            .await;
        expected += reward - fee;
    }
    ledger.settle().await;
    assert_eq!(ledger.balance(popug).await, expected);
    assert_eq!(
        ledger
            .count("SELECT count(*) AS n FROM ledger_entries WHERE book = 'employee'")
            .await,
        1_000
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payout_records_one_entry_and_a_second_for_the_same_account_and_date_changes_nothing() {
    let mut ledger = Ledger::start().await;
    let (popug, token) = ledger.popug("paid", Role::Worker).await;
    let task = Uuid::new_v4();
    ledger
        .publish(
            &added(task, popug, 1_000, "2026-11-20T09:00:00Z"),
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &completed(task, popug, 4_000, "2026-11-20T10:00:00Z"),
            at("2026-11-20T10:00:00Z"),
        )
        .await;
    let payout = payouts::BillZeroed {
        payout_id: Uuid::new_v4().to_string(),
        account_id: popug.to_string(),
        amount_cents: 3_000,
        business_date: DAY.into(),
        paid_at: Some(timestamp(at("2026-11-21T00:00:05Z"))),
    };
    ledger.publish(&payout, at("2026-11-21T00:00:05Z")).await;
    ledger
        .publish(
            &payouts::BillZeroed {
                payout_id: Uuid::new_v4().to_string(),
                ..payout.clone()
            },
            at("2026-11-21T00:01:00Z"),
        )
        .await;
    ledger.settle().await;
    assert_eq!(ledger.balance(popug).await, 0);
    let statement = ledger
        .client()
        .await
        .get_statement(signed(
            api::GetStatementRequest {
                account_id: popug.to_string(),
                business_date: DAY.into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let payouts: Vec<&api::Entry> = statement
        .entries
        .iter()
        .filter(|entry| entry.kind == api::EntryKind::Payout as i32)
        .collect();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0].amount_cents, -3_000);
    assert_eq!(
        payouts[0].business_date, DAY,
        "the payout belongs to the closed day"
    );
    assert_eq!(statement.closing_balance_cents, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_api_enforces_roles() {
    let mut ledger = Ledger::start().await;
    let (worker, worker_token) = ledger.popug("worker", Role::Worker).await;
    let (other, _) = ledger.popug("other", Role::Worker).await;
    let (_, manager_token) = ledger.popug("manager", Role::Manager).await;
    let (_, accountant_token) = ledger.popug("accountant", Role::Accountant).await;
    let admin_token = ledger.auth.admin_token().await;
    for popug in [worker, other] {
        ledger
            .publish(
                &added(Uuid::new_v4(), popug, 1_000, "2026-11-20T09:00:00Z"),
                at("2026-11-20T09:00:00Z"),
            )
            .await;
    }
    ledger.settle().await;
    let mut client = ledger.client().await;
    let statement = |account: Uuid, token: &str| {
        signed(
            api::GetStatementRequest {
                account_id: account.to_string(),
                business_date: DAY.into(),
                ..Default::default()
            },
            token,
        )
    };
    client
        .get_statement(statement(worker, &worker_token))
        .await
        .unwrap();
    for token in [&worker_token, &manager_token] {
        assert_eq!(
            client
                .get_statement(statement(other, token))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        assert_eq!(
            client
                .list_balances(signed(api::ListBalancesRequest::default(), token))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        assert_eq!(
            client
                .get_today_management_earnings(signed(
                    api::GetTodayManagementEarningsRequest {},
                    token
                ))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
    }
    for token in [&accountant_token, &admin_token] {
        client.get_statement(statement(other, token)).await.unwrap();
        let balances = client
            .list_balances(signed(api::ListBalancesRequest::default(), token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(balances.negative_balance_count, 2);
        assert_eq!(balances.balances.len(), 2);
        client
            .get_today_management_earnings(signed(api::GetTodayManagementEarningsRequest {}, token))
            .await
            .unwrap();
    }
    assert_eq!(
        client
            .list_balances(api::ListBalancesRequest::default())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
}

/// A v2 assignment carrying the task's details at `revision`.
fn assignment_v2(
    (task, assignee, fee_cents, when): (Uuid, Uuid, i64, &str),
    (description, title, revision): (&str, &str, u64),
) -> tracker_v2::Assignment {
    let v1 = assignment(task, assignee, fee_cents, at(when));
    tracker_v2::Assignment {
        assignment_id: v1.assignment_id,
        task_id: v1.task_id,
        assignee_id: v1.assignee_id,
        description: description.to_owned(),
        fee_cents,
        assigned_at: v1.assigned_at,
        title: title.to_owned(),
        jira_id: String::new(),
        details_revision: revision,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn task_events_of_both_schema_versions_post_alike_and_the_statement_shows_titles() {
    let mut ledger = Ledger::start().await;
    let (worker, token) = ledger.popug("worker", Role::Worker).await;
    let (old, new) = (Uuid::new_v4(), Uuid::new_v4());
    // A task from before the schema change: v1 events only, then the tracker's migration tells
    // its title and jira id in a v2 update.
    ledger
        .publish(
            &tracker::TaskAdded {
                task_id: old.to_string(),
                assignment: Some(tracker::Assignment {
                    description: "[UBERPOP-42] Fix the button".into(),
                    ..assignment(old, worker, 1_000, at("2026-11-20T09:00:00Z"))
                }),
                creator_id: worker.to_string(),
            },
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    ledger.settle().await;
    let client = ledger.client().await;
    let statement = || {
        let token = token.clone();
        let mut client = client.clone();
        async move {
            client
                .get_statement(signed(
                    api::GetStatementRequest {
                        account_id: worker.to_string(),
                        business_date: DAY.into(),
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let texts = |statement: &api::GetStatementResponse| -> Vec<(String, String, String, i64)> {
        statement
            .entries
            .iter()
            .map(|entry| {
                (
                    entry.task_description.clone(),
                    entry.task_title.clone(),
                    entry.task_jira_id.clone(),
                    entry.amount_cents,
                )
            })
            .collect()
    };
    assert_eq!(
        texts(&statement().await),
        [(
            "[UBERPOP-42] Fix the button".into(),
            String::new(),
            String::new(),
            -1_000
        )]
    );
    ledger
        .publish(
            &tracker_v2::TaskDetailsUpdated {
                task_id: old.to_string(),
                description: "[UBERPOP-42] Fix the button".into(),
                revision: 2,
                title: "Fix the button".into(),
                jira_id: "UBERPOP-42".into(),
            },
            at("2026-11-20T09:30:00Z"),
        )
        .await;
    // A task created after the change: v2 throughout, until an old client edits its
    // description (v1): the title stays. The v1 edit travels on another queue than the
    // assignments and may be applied before or after them: the result is the same.
    ledger
        .publish(
            &tracker_v2::TaskAdded {
                task_id: new.to_string(),
                assignment: Some(assignment_v2(
                    (new, worker, 1_500, "2026-11-20T10:00:00Z"),
                    ("Polish the beak", "Polish the beak", 1),
                )),
                creator_id: worker.to_string(),
            },
            at("2026-11-20T10:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &tracker::TaskDescriptionUpdated {
                task_id: new.to_string(),
                description: "Polish the beak until it shines".into(),
                revision: 2,
            },
            at("2026-11-20T10:30:00Z"),
        )
        .await;
    ledger
        .publish(
            &tracker_v2::TasksReassigned {
                reshuffle_id: Uuid::new_v4().to_string(),
                batch_index: 0,
                batch_count: 1,
                assignments: vec![assignment_v2(
                    (new, worker, 1_500, "2026-11-20T11:00:00Z"),
                    ("Polish the beak until it shines", "Polish the beak", 2),
                )],
            },
            at("2026-11-20T11:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &completed(new, worker, 3_000, "2026-11-20T12:00:00Z"),
            at("2026-11-20T12:00:00Z"),
        )
        .await;
    // A fee is never refused over its task's text: an empty title is none, a NUL is replaced.
    let odd = Uuid::new_v4();
    ledger
        .publish(
            &tracker_v2::TaskAdded {
                task_id: odd.to_string(),
                assignment: Some(assignment_v2(
                    (odd, worker, 1_000, "2026-11-20T13:00:00Z"),
                    ("nul\0here", " ", 1),
                )),
                creator_id: worker.to_string(),
            },
            at("2026-11-20T13:00:00Z"),
        )
        .await;
    ledger.settle().await;
    let statement = statement().await;
    let polish = || {
        (
            "Polish the beak until it shines".to_owned(),
            "Polish the beak".to_owned(),
            String::new(),
        )
    };
    let with = |(description, title, jira): (String, String, String), cents| {
        (description, title, jira, cents)
    };
    assert_eq!(
        texts(&statement),
        [
            (
                "[UBERPOP-42] Fix the button".into(),
                "Fix the button".into(),
                "UBERPOP-42".into(),
                -1_000
            ),
            with(polish(), -1_500),
            with(polish(), -1_500),
            with(polish(), 3_000),
            (
                "nul\u{fffd}here".into(),
                String::new(),
                String::new(),
                -1_000
            ),
        ]
    );
    assert_eq!(statement.closing_balance_cents, -2_000);
    assert_eq!(ledger.balance(worker).await, -2_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_auth_announced_has_an_empty_statement_before_its_first_entry() {
    let mut ledger = Ledger::start().await;
    let (newcomer, newcomer_token) = ledger.popug("newcomer", Role::Worker).await;
    let admin = ledger.auth.admin_token().await;
    let client = ledger.client().await;
    let statement_of = |account: Uuid, token: &str| {
        let mut client = client.clone();
        let request = signed(
            api::GetStatementRequest {
                account_id: account.to_string(),
                business_date: DAY.into(),
                ..Default::default()
            },
            token,
        );
        async move { client.get_statement(request).await }
    };
    // auth announces the account through the broker; once accounting has read it, the
    // newcomer's own dashboard works.
    let statement = eventually(Duration::from_secs(30), || async {
        statement_of(newcomer, &newcomer_token).await.ok()
    })
    .await
    .expect("a new worker's own statement is readable once auth announced the account")
    .into_inner();
    assert_eq!(
        (
            statement.opening_balance_cents,
            statement.closing_balance_cents,
            statement.entries.len(),
            statement.next_page_token.as_str(),
        ),
        (0, 0, 0, "")
    );
    // Only an id nobody announced is unknown.
    let unknown = statement_of(Uuid::new_v4(), &admin).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert!(unknown.message().starts_with("account_id: "), "{unknown:?}");
    // An account created before accounting read announcements becomes known through auth's
    // accounts snapshot (sent again whenever analytics resyncs).
    let older = Uuid::new_v4();
    assert_eq!(
        statement_of(older, &admin).await.unwrap_err().code(),
        Code::NotFound
    );
    ledger
        .publish(
            &auth::AccountsSnapshot {
                batch: None,
                accounts: vec![auth::accounts_snapshot::Account {
                    account_id: older.to_string(),
                    role: auth::AccountRole::Worker.into(),
                    revision: 1,
                    created_at: Some(timestamp(at("2026-11-01T09:00:00Z"))),
                }],
            },
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    let statement = eventually(Duration::from_secs(30), || async {
        statement_of(older, &admin).await.ok()
    })
    .await
    .expect("an account in auth's snapshot has a statement")
    .into_inner();
    assert_eq!(
        (statement.closing_balance_cents, statement.entries.len()),
        (0, 0)
    );
    // The first entry is posted as for any account.
    ledger
        .publish(
            &added(Uuid::new_v4(), newcomer, 1_500, "2026-11-20T10:00:00Z"),
            at("2026-11-20T10:00:00Z"),
        )
        .await;
    ledger.settle().await;
    let statement = statement_of(newcomer, &newcomer_token)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (statement.closing_balance_cents, statement.entries.len()),
        (-1_500, 1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_get_their_status_naming_the_field() {
    let ledger = Ledger::start().await;
    let admin = ledger.auth.admin_token().await;
    let mut client = ledger.client().await;
    let statement = |account: &str, date: &str| {
        signed(
            api::GetStatementRequest {
                account_id: account.to_owned(),
                business_date: date.to_owned(),
                ..Default::default()
            },
            &admin,
        )
    };
    let earnings = |from: &str, to: &str| {
        signed(
            api::GetManagementEarningsRequest {
                from_date: from.to_owned(),
                to_date: to.to_owned(),
            },
            &admin,
        )
    };
    let cases: Vec<(&str, tonic::Status, Code, &str)> = vec![
        (
            "malformed account",
            client
                .get_statement(statement("popug-1", DAY))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "account_id",
        ),
        (
            "empty account",
            client.get_statement(statement("", DAY)).await.unwrap_err(),
            Code::InvalidArgument,
            "account_id",
        ),
        (
            "unknown account",
            client
                .get_statement(statement(&Uuid::new_v4().to_string(), DAY))
                .await
                .unwrap_err(),
            Code::NotFound,
            "account_id",
        ),
        (
            "malformed date",
            client
                .get_statement(statement(&Uuid::new_v4().to_string(), "20/11/2026"))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "a date without its zeros",
            client
                .get_statement(statement(&Uuid::new_v4().to_string(), "2026-1-5"))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "a date with a space",
            client
                .get_management_earnings(earnings(" 2026-11-19", "2026-11-19"))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "from_date",
        ),
        (
            "reversed range",
            client
                .get_management_earnings(earnings("2026-11-20", "2026-11-19"))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "to_date",
        ),
        (
            "too long a range",
            client
                .get_management_earnings(earnings("2024-01-01", "2026-01-01"))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "to_date",
        ),
        (
            "malformed from",
            client
                .get_management_earnings(earnings("yesterday", "2026-11-19"))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "from_date",
        ),
        (
            "bad page size",
            client
                .list_balances(signed(
                    api::ListBalancesRequest {
                        page_size: -1,
                        page_token: String::new(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_size",
        ),
        (
            "bad page token",
            client
                .list_balances(signed(
                    api::ListBalancesRequest {
                        page_size: 0,
                        page_token: "@@".into(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
    ];
    ates_testkit::assert_refusals(&cases);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_entry_is_announced_in_the_audit_log_and_every_touched_bill_with_its_balance() {
    use ates_contracts::ates::accounting::events::v1 as out;
    use ates_contracts::ates::events::v1::EventEnvelope;
    use ates_contracts::routing::Service;
    use lapin::options::BasicGetOptions;
    use prost::Message as _;

    let mut ledger = Ledger::start().await;
    let (popug, task) = (Uuid::new_v4(), Uuid::new_v4());
    ledger
        .publish(
            &added(task, popug, 1_200, "2026-11-20T09:00:00Z"),
            at("2026-11-20T09:00:00Z"),
        )
        .await;
    ledger
        .publish(
            &completed(task, popug, 2_600, "2026-11-20T10:00:00Z"),
            at("2026-11-20T10:00:00Z"),
        )
        .await;
    ledger.settle().await;
    let drained = eventually(Duration::from_secs(20), || async {
        (ledger
            .count("SELECT count(*) AS n FROM outbox_events")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert!(drained.is_some());

    let connection = ledger.auth.broker.connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let topology = ates_messaging::Topology::new(ledger.auth.broker.prefix());
    let read = async |consumer: Service, exchange: &str| {
        let subscription = routing::subscriptions_of(consumer)
            .into_iter()
            .find(|s| s.exchange == exchange)
            .unwrap();
        let mut envelopes = Vec::new();
        while let Some(message) = channel
            .basic_get(
                topology.queue(&subscription).into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            envelopes.push(EventEnvelope::decode(message.delivery.data.as_slice()).unwrap());
        }
        envelopes
    };
    let audit = read(Service::Analytics, routing::ACCOUNTING_AUDIT_LOG).await;
    let entries: Vec<out::AuditLogEntryCreated> = audit
        .iter()
        .map(|envelope| out::AuditLogEntryCreated::decode(envelope.payload.as_slice()).unwrap())
        .collect();
    let mut amounts: Vec<(i64, i32, String)> = entries
        .iter()
        .map(|entry| (entry.amount_cents, entry.kind, entry.business_date.clone()))
        .collect();
    amounts.sort();
    assert_eq!(
        amounts,
        [
            (-1_200, out::EntryKind::AssignmentFee as i32, DAY.to_owned()),
            (
                2_600,
                out::EntryKind::CompletionReward as i32,
                DAY.to_owned()
            )
        ]
    );
    assert!(entries.iter().all(|entry| entry.account_id == popug.to_string() && entry.task_id == task.to_string()));
    for consumer in [Service::Payouts, Service::Analytics] {
        let bills: Vec<out::BillUpdated> = read(consumer, routing::ACCOUNTING_BILLS)
            .await
            .iter()
            .map(|envelope| out::BillUpdated::decode(envelope.payload.as_slice()).unwrap())
            .collect();
        let latest = bills.iter().max_by_key(|bill| bill.revision).unwrap();
        assert_eq!(
            (
                latest.balance_cents,
                latest.revision,
                latest.business_date.as_str(),
                latest.date_earned_cents,
                latest.date_earned_revision
            ),
            (1_400, 2, DAY, 1_400, 2),
            "{consumer:?}: {bills:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgraded_ledger_knows_what_each_account_earned_and_was_charged_on_each_date_before_the_upgrade()
 {
    use diesel::Connection as _;
    use diesel_async::AsyncPgConnection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    use diesel_migrations::MigrationHarness as _;

    let database = ates_testkit::TestDatabase::create().await.unwrap();
    let url = database.url().to_owned();
    ates_messaging::migrate(&url, Some(&accounting_svc::app::MIGRATIONS))
        .await
        .unwrap();
    // Back to the ledger before the per-date totals, with entries written by its trigger.
    let down_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&down_url).unwrap();
        // Every migration from the per-date totals on, newest first.
        while conn
            .applied_migrations()
            .unwrap()
            .iter()
            .any(|version| version.to_string().as_str() >= "20261202190000")
        {
            conn.revert_last_migration(accounting_svc::app::MIGRATIONS)
                .unwrap();
        }
    })
    .await
    .unwrap();
    let pool = ates_storage::pool(&url, 2).unwrap();
    assert_eq!(
        ates_testkit::database::count(
            &pool,
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'date_earnings'"
        )
        .await,
        0
    );
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let mut legs = Vec::new();
    for (account, kind, amount, date) in [
        (first, "assignment_fee", -1_500, "2026-11-19"),
        (first, "completion_reward", 3_000, "2026-11-19"),
        (first, "payout", -1_500, "2026-11-19"),
        (first, "assignment_fee", -1_000, "2026-11-20"),
        (second, "assignment_fee", -2_000, "2026-11-20"),
    ] {
        legs.push(format!(
            "('{}', '{kind}', '{account}', {amount}, '{date}')",
            Uuid::new_v4()
        ));
    }
    {
        use diesel_async::SimpleAsyncConnection as _;
        let mut conn = pool.get().await.unwrap();
        conn.batch_execute(&format!(
            "WITH legs (posting, kind, account, amount, day) AS (VALUES {}), \
             postings AS (INSERT INTO postings (id, business_key, kind) \
                 SELECT posting::uuid, posting, kind FROM legs) \
             INSERT INTO ledger_entries (public_id, posting_id, book, account_id, kind, amount_cents, business_date, occurred_at) \
             SELECT gen_random_uuid(), posting::uuid, 'employee', account::uuid, kind, amount, day::date, now() FROM legs",
            legs.join(", ")
        ))
        .await
        .unwrap();
    }
    ates_messaging::migrate(&url, Some(&accounting_svc::app::MIGRATIONS))
        .await
        .unwrap();
    // One number per (account, date) row, -1 when there is none.
    let of_row = |expression: &'static str, account: Uuid, date: &str| {
        let pool = pool.clone();
        let sql = format!(
            "SELECT COALESCE((SELECT {expression} FROM date_earnings \
             WHERE account_id = '{account}' AND business_date = '{date}'), -1) AS n"
        );
        async move { ates_testkit::database::count(&pool, &sql).await }
    };
    let earned = |account, date| of_row("earned_cents * 1000 + entry_count", account, date);
    // Earnings exclude the payout; every (account, date) with fees or rewards is summed.
    assert_eq!(earned(first, "2026-11-19").await, 1_500 * 1000 + 2);
    assert_eq!(earned(first, "2026-11-20").await, -1_000 * 1000 + 1);
    assert_eq!(earned(second, "2026-11-20").await, -2_000 * 1000 + 1);
    // Fees and rewards apart, for management's earnings, both positive.
    let by_kind = |account, date| of_row("fees_cents * 100000 + rewards_cents", account, date);
    assert_eq!(by_kind(first, "2026-11-19").await, 1_500 * 100_000 + 3_000);
    assert_eq!(by_kind(first, "2026-11-20").await, 1_000 * 100_000);
    assert_eq!(by_kind(second, "2026-11-20").await, 2_000 * 100_000);
    assert_eq!(
        ates_testkit::database::count(&pool, "SELECT count(*) AS n FROM date_earnings").await,
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_is_read_a_page_at_a_time_and_a_token_fits_only_its_own_list() {
    let mut ledger = Ledger::start().await;
    let (popug, other) = (Uuid::new_v4(), Uuid::new_v4());
    for (index, assignee) in [popug, popug, popug, other].into_iter().enumerate() {
        let task = Uuid::new_v4();
        let fee = 1_000 + i64::try_from(index).unwrap() * 100;
        ledger
            .publish(
                &added(task, assignee, fee, "2026-11-20T09:00:00Z"),
                at("2026-11-20T09:00:00Z"),
            )
            .await;
        ledger
            .publish(
                &completed(task, assignee, 2_000, "2026-11-20T10:00:00Z"),
                at("2026-11-20T10:00:00Z"),
            )
            .await;
    }
    ledger.settle().await;
    let admin = ledger.auth.admin_token().await;
    let mut client = ledger.client().await;
    let statement = |date: &str, size: i32, token: &str| {
        signed(
            api::GetStatementRequest {
                account_id: popug.to_string(),
                business_date: date.to_owned(),
                page_size: size,
                page_token: token.to_owned(),
            },
            &admin,
        )
    };
    let first = client
        .get_statement(statement(DAY, 4, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.entries.len(), 4);
    assert!(!first.next_page_token.is_empty());
    let second = client
        .get_statement(statement(DAY, 4, &first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.entries.len(), 2);
    assert!(second.next_page_token.is_empty());
    let mut ids: Vec<&str> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|entry| entry.entry_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6, "every entry once across the pages");

    // The same token altered in one character, for another date, or from another list.
    let token = first.next_page_token.clone();
    let mut altered = token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let balances = client
        .list_balances(signed(
            api::ListBalancesRequest {
                page_size: 1,
                page_token: String::new(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!balances.next_page_token.is_empty());
    let cases: Vec<(&str, tonic::Status, Code, &str)> = vec![
        (
            "altered token",
            client
                .get_statement(statement(DAY, 4, &altered))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
        (
            "another date's token",
            client
                .get_statement(statement("2026-11-21", 4, &token))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
        (
            "a balances token",
            client
                .get_statement(statement(DAY, 4, &balances.next_page_token))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
        (
            "a statement token for balances",
            client
                .list_balances(signed(
                    api::ListBalancesRequest {
                        page_size: 1,
                        page_token: token.clone(),
                    },
                    &admin,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
    ];
    ates_testkit::assert_refusals(&cases);
}
