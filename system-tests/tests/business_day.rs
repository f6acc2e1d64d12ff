//! A whole business day through the real binaries, checked against a ledger the test keeps from
//! nothing but what the APIs returned.

#![allow(clippy::unwrap_used)]

mod system;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::tracker::v1 as tracker;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use system::{ADMIN_BEAK, System, signed};
use tonic::Code;

/// The test's own books: cents per account, fees and rewards of the day.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Books {
    balances: BTreeMap<String, i64>,
    entries: BTreeMap<String, usize>,
    fees_cents: i64,
    rewards_cents: i64,
}

impl Books {
    fn charge(&mut self, account: &str, fee_cents: i64) {
        *self.balances.entry(account.to_owned()).or_default() -= fee_cents;
        *self.entries.entry(account.to_owned()).or_default() += 1;
        self.fees_cents += fee_cents;
    }

    fn credit(&mut self, account: &str, reward_cents: i64) {
        *self.balances.entry(account.to_owned()).or_default() += reward_cents;
        *self.entries.entry(account.to_owned()).or_default() += 1;
        self.rewards_cents += reward_cents;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_business_day_ends_with_accounting_equal_to_an_independent_ledger() {
    let seed: u64 = std::env::var("ATES_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(20_261_125);
    eprintln!("business day with seed {seed} (set ATES_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let system = System::start().await;

    // The admin creates the staff; everyone signs in with their beak.
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    let mut auth_client = system.auth().await;
    let mut people: Vec<(String, auth::Role, String)> = Vec::new();
    for (name, role) in [
        ("manager", auth::Role::Manager),
        ("accountant", auth::Role::Accountant),
        ("worker1", auth::Role::Worker),
        ("worker2", auth::Role::Worker),
        ("worker3", auth::Role::Worker),
        ("worker4", auth::Role::Worker),
    ] {
        let created = auth_client
            .create_account(signed(
                auth::CreateAccountRequest {
                    email: format!("{name}@uberpopug.test"),
                    role: role as i32,
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        let (id, token) = system.sign_in(&created.beak).await;
        people.push((id, role, token));
    }
    let token_of: HashMap<String, String> = people
        .iter()
        .map(|(id, _, token)| (id.clone(), token.clone()))
        .collect();
    let manager = people[0].2.clone();
    let accountant = people[1].2.clone();
    let eligible: Vec<String> = people
        .iter()
        .filter(|(_, role, _)| matches!(role, auth::Role::Worker | auth::Role::Accountant))
        .map(|(id, _, _)| id.clone())
        .collect();

    // The tracker learns accounts from auth's events: wait until it can assign.
    let mut tracker_client = system.tracker().await;
    let mut books = Books::default();
    let mut tasks: BTreeMap<String, (i64, i64, String, bool)> = BTreeMap::new(); // fee, reward, assignee, done
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tracker_client
            .create_task(signed(
                tracker::CreateTaskRequest {
                    description: "the first task".into(),
                },
                &manager,
            ))
            .await
        {
            Ok(response) => {
                let task = response.into_inner().task.unwrap();
                books.charge(&task.assignee_id, task.fee_cents);
                tasks.insert(
                    task.task_id,
                    (task.fee_cents, task.reward_cents, task.assignee_id, false),
                );
                break;
            }
            Err(status)
                if status.code() == Code::FailedPrecondition
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("seed {seed}: {status:?}"),
        }
    }

    let all_tokens: Vec<String> = people
        .iter()
        .map(|(_, _, token)| token.clone())
        .chain([admin.clone()])
        .collect();
    for step in 0..120 {
        match rng.random_range(0..10) {
            // Anyone creates a task.
            0..=3 => {
                let creator = &all_tokens[rng.random_range(0..all_tokens.len())];
                let task = tracker_client
                    .create_task(signed(
                        tracker::CreateTaskRequest {
                            description: format!("task of step {step}"),
                        },
                        creator,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .task
                    .unwrap();
                assert!(
                    eligible.contains(&task.assignee_id),
                    "seed {seed}: assigned to a manager or admin"
                );
                books.charge(&task.assignee_id, task.fee_cents);
                tasks.insert(
                    task.task_id,
                    (task.fee_cents, task.reward_cents, task.assignee_id, false),
                );
            }
            // The manager reshuffles: every open task is assigned (and charged) again.
            4 => {
                let reshuffle = tracker_client
                    .reassign_open_tasks(signed(tracker::ReassignOpenTasksRequest {}, &manager))
                    .await
                    .unwrap()
                    .into_inner();
                let listed = tracker_client
                    .list_tasks(signed(
                        tracker::ListTasksRequest {
                            status: tracker::TaskStatus::Open as i32,
                            page_size: 500,
                            ..Default::default()
                        },
                        &manager,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .tasks;
                assert_eq!(
                    listed.len() as i64,
                    reshuffle.reassigned_count,
                    "seed {seed}"
                );
                for task in listed {
                    let known = tasks.get_mut(&task.task_id).unwrap();
                    books.charge(&task.assignee_id, known.0);
                    known.2 = task.assignee_id;
                }
            }
            // A popug completes one of its tasks.
            5..=8 => {
                let (id, token) = {
                    let id = &eligible[rng.random_range(0..eligible.len())];
                    (id.clone(), token_of[id].clone())
                };
                let mine = tracker_client
                    .list_my_tasks(signed(
                        tracker::ListMyTasksRequest {
                            status: tracker::TaskStatus::Open as i32,
                            ..Default::default()
                        },
                        &token,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .tasks;
                if let Some(task) = mine.first() {
                    tracker_client
                        .complete_task(signed(
                            tracker::CompleteTaskRequest {
                                task_id: task.task_id.clone(),
                            },
                            &token,
                        ))
                        .await
                        .unwrap();
                    let known = tasks.get_mut(&task.task_id).unwrap();
                    assert_eq!(
                        known.2, id,
                        "seed {seed}: the tracker and the test disagree on an assignee"
                    );
                    known.3 = true;
                    books.credit(&id, known.1);
                }
            }
            // A popug tries someone else's task or a done one, and is refused.
            _ => {
                let Some((task_id, (_, _, assignee, done))) = tasks
                    .iter()
                    .nth(rng.random_range(0..tasks.len()))
                    .map(|(id, task)| (id.clone(), task.clone()))
                else {
                    continue;
                };
                let (caller, expected) = if done {
                    (assignee.clone(), Code::FailedPrecondition)
                } else {
                    (
                        eligible.iter().find(|id| **id != assignee).unwrap().clone(),
                        Code::PermissionDenied,
                    )
                };
                let refused = tracker_client
                    .complete_task(signed(
                        tracker::CompleteTaskRequest { task_id },
                        &token_of[&caller],
                    ))
                    .await
                    .unwrap_err();
                assert_eq!(refused.code(), expected, "seed {seed}: {refused:?}");
            }
        }
    }

    let done = tasks.values().filter(|task| task.3).count();
    eprintln!(
        "seed {seed}: {} tasks, {done} done, {} entries, fees {} ¢, rewards {} ¢",
        tasks.len(),
        books.entries.values().sum::<usize>(),
        books.fees_cents,
        books.rewards_cents
    );
    assert!(
        done > 0 && books.entries.values().sum::<usize>() > tasks.len(),
        "seed {seed}: the day was too quiet to prove anything"
    );

    // Settle: wait until accounting's balances equal the test's books, then compare everything.
    let mut accounting_client = system.accounting().await;
    let expected: BTreeMap<String, i64> = books.balances.clone();
    let mut last_seen = BTreeMap::new();
    let settle_deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < settle_deadline {
        let balances = accounting_client
            .list_balances(signed(
                accounting::ListBalancesRequest {
                    page_size: 1_000,
                    ..Default::default()
                },
                &accountant,
            ))
            .await
            .unwrap()
            .into_inner();
        last_seen = balances
            .balances
            .into_iter()
            .map(|balance| (balance.account_id, balance.balance_cents))
            .collect();
        if last_seen == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        last_seen, expected,
        "seed {seed}: accounting's balances differ from the independent ledger"
    );

    let negative = expected.values().filter(|balance| **balance < 0).count() as i64;
    let balances = accounting_client
        .list_balances(signed(
            accounting::ListBalancesRequest::default(),
            &accountant,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balances.negative_balance_count, negative, "seed {seed}");

    for (account, balance) in &expected {
        // Each popug reads its own statement: its closing balance and its audit log.
        let statement = accounting_client
            .get_statement(signed(
                accounting::GetStatementRequest {
                    account_id: account.clone(),
                    page_size: 1_000,
                    ..Default::default()
                },
                &token_of[account],
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            statement.closing_balance_cents, *balance,
            "seed {seed}: statement of {account}"
        );
        assert_eq!(
            statement.entries.len(),
            books.entries[account],
            "seed {seed}: audit log of {account}"
        );
        assert!(
            statement
                .entries
                .iter()
                .all(|entry| !entry.task_description.is_empty()),
            "seed {seed}"
        );
    }

    let today = accounting_client
        .get_today_management_earnings(signed(
            accounting::GetTodayManagementEarningsRequest {},
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .today
        .unwrap();
    assert_eq!(
        (today.fees_cents, today.rewards_cents, today.earnings_cents),
        (
            books.fees_cents,
            books.rewards_cents,
            books.fees_cents - books.rewards_cents
        ),
        "seed {seed}: management earnings"
    );
}
