//! tracker-svc's rules over real gRPC, with tokens from a real auth and accounts learned from
//! auth's events through RabbitMQ.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::tracker::events::{v1, v2 as events};
use ates_contracts::ates::tracker::v1 as api;
use ates_contracts::routing::{self, Service};
use ates_testkit::signed;
use ates_testkit::tracker::{Popug, World, payloads};
use tonic::Code;

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_task_fixes_whole_dollar_prices_and_assigns_an_eligible_popug() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let task = world.create_task(&manager, "  Fix the beak  ").await;
    assert_eq!(task.description, "Fix the beak");
    assert_eq!(task.assignee_id, worker.id.to_string());
    assert_eq!(task.creator_id, manager.id.to_string());
    assert_eq!(task.status, api::TaskStatus::Open as i32);
    assert!((1_000..=2_000).contains(&task.fee_cents) && task.fee_cents % 100 == 0);
    assert!((2_000..=4_000).contains(&task.reward_cents) && task.reward_cents % 100 == 0);

    let lifecycle = world
        .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
        .await;
    let added: Vec<events::TaskAdded> = payloads(&lifecycle);
    assert_eq!(added.len(), 1);
    let assignment = added[0].assignment.as_ref().unwrap();
    assert_eq!(assignment.assignee_id, worker.id.to_string());
    assert_eq!(assignment.fee_cents, task.fee_cents);
    assert_eq!(assignment.description, "Fix the beak");
    let created: Vec<events::TaskCreated> = payloads(
        &world
            .events(Service::Analytics, routing::TRACKER_TASKS)
            .await,
    );
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].reward_cents, task.reward_cents);
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_task_with_nobody_to_assign_fails_with_failed_precondition() {
    let world = World::start().await;
    let manager = world.popug("manager", Role::Manager).await;
    let refused = world
        .client()
        .await
        .create_task(signed(
            api::CreateTaskRequest {
                description: "anyone?".into(),
                ..Default::default()
            },
            &manager.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("no account can be assigned"),
        "{}",
        refused.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_managers_and_admins_may_reassign_open_tasks() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let accountant = world.popug("accountant", Role::Accountant).await;
    world.create_task(&worker, "a task").await;
    for popug in [&worker, &accountant] {
        let refused = world
            .client()
            .await
            .reassign_open_tasks(signed(
                api::ReassignOpenTasksRequest::default(),
                &popug.token,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    let manager = world.popug("manager", Role::Manager).await;
    assert_eq!(world.reshuffle(&manager).await.reassigned_count, 1);
    assert_eq!(
        world.reshuffle(&world.admin().await).await.reassigned_count,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_current_assignee_may_complete_a_task_and_only_once() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let task = world.create_task(&manager, "complete me").await;
    let mut client = world.client().await;
    let complete = |popug: &Popug| {
        signed(
            api::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &popug.token,
        )
    };

    assert_eq!(
        client
            .complete_task(complete(&manager))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let done = client
        .complete_task(complete(&worker))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(done.status, api::TaskStatus::Done as i32);
    assert!(done.completed_at.is_some());
    let again = client.complete_task(complete(&worker)).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    let completed: Vec<v1::TaskCompleted> = payloads(
        &world
            .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
            .await,
    );
    assert_eq!(completed.len(), 1, "one completion, one event");
    assert_eq!(completed[0].reward_cents, task.reward_cents);
    assert_eq!(completed[0].assignee_id, worker.id.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completed_task_is_never_reassigned() {
    let world = World::start().await;
    let first = world.popug("first", Role::Worker).await;
    let second = world.popug("second", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let task = world.create_task(&manager, "finish early").await;
    let assignee = if task.assignee_id == first.id.to_string() {
        &first
    } else {
        &second
    };
    world
        .client()
        .await
        .complete_task(signed(
            api::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &assignee.token,
        ))
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(world.reshuffle(&manager).await.reassigned_count, 0);
    }
    assert_eq!(
        world.get_task(&manager, &task.task_id).await.assignee_id,
        task.assignee_id
    );
    assert_eq!(
        world.count("SELECT count(*) AS n FROM assignments").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_popug_who_lost_a_task_in_a_reshuffle_cannot_complete_it() {
    let world = World::start().await;
    let one = world.popug("one", Role::Worker).await;
    let two = world.popug("two", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let task = world.create_task(&manager, "hot potato").await;
    let original = task.assignee_id.clone();
    let mut current = original.clone();
    for _ in 0..40 {
        world.reshuffle(&manager).await;
        current = world.get_task(&manager, &task.task_id).await.assignee_id;
        if current != original {
            break;
        }
    }
    assert_ne!(
        current, original,
        "40 reshuffles between two popugs never moved the task"
    );
    let loser = if original == one.id.to_string() {
        &one
    } else {
        &two
    };
    let winner = if original == one.id.to_string() {
        &two
    } else {
        &one
    };
    let mut client = world.client().await;
    let refused = client
        .complete_task(signed(
            api::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &loser.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    client
        .complete_task(signed(
            api::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &winner.token,
        ))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_creator_managers_and_admins_may_change_a_description() {
    let world = World::start().await;
    let creator = world.popug("creator", Role::Worker).await;
    let other = world.popug("other", Role::Accountant).await;
    let manager = world.popug("manager", Role::Manager).await;
    let task = world.create_task(&creator, "first words").await;
    let mut client = world.client().await;
    let update = |popug: &Popug, text: &str| {
        signed(
            api::UpdateTaskDescriptionRequest {
                task_id: task.task_id.clone(),
                description: text.to_owned(),
            },
            &popug.token,
        )
    };
    assert_eq!(
        client
            .update_task_description(update(&other, "hijacked"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    client
        .update_task_description(update(&creator, "second words"))
        .await
        .unwrap();
    let updated = client
        .update_task_description(update(&manager, "third words"))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(updated.description, "third words");
    // The same text again is no change.
    client
        .update_task_description(update(&manager, "third words"))
        .await
        .unwrap();

    let updates: Vec<events::TaskDetailsUpdated> = payloads(
        &world
            .settled_events(Service::Accounting, routing::TRACKER_TASKS)
            .await,
    );
    let revisions: Vec<(u64, String)> = updates
        .iter()
        .map(|update| (update.revision, update.description.clone()))
        .collect();
    assert_eq!(
        revisions,
        [
            (2, "second words".to_owned()),
            (3, "third words".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_get_their_status_naming_the_field_or_the_rule() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let task = world.create_task(&worker, "a task").await;
    let mut client = world.client().await;
    let token = &worker.token;
    let cases: Vec<(&str, tonic::Status, Code, &str)> = vec![
        (
            "empty description",
            client
                .create_task(signed(
                    api::CreateTaskRequest {
                        description: "  ".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "description",
        ),
        (
            "a NUL in a new task's description",
            client
                .create_task(signed(
                    api::CreateTaskRequest {
                        description: "fix\0the beak".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "description",
        ),
        (
            "a NUL in an updated description",
            client
                .update_task_description(signed(
                    api::UpdateTaskDescriptionRequest {
                        task_id: task.task_id.clone(),
                        description: "fix\0the beak".into(),
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "description",
        ),
        (
            "oversized description",
            client
                .create_task(signed(
                    api::CreateTaskRequest {
                        description: "x".repeat(2_001),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "description",
        ),
        (
            "malformed task id",
            client
                .complete_task(signed(
                    api::CompleteTaskRequest {
                        task_id: "task-1".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "task_id",
        ),
        (
            "empty task id",
            client
                .get_task(signed(
                    api::GetTaskRequest {
                        task_id: String::new(),
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "task_id",
        ),
        (
            "unknown task id",
            client
                .complete_task(signed(
                    api::CompleteTaskRequest {
                        task_id: uuid::Uuid::new_v4().to_string(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::NotFound,
            "task_id",
        ),
        (
            "unknown status filter",
            client
                .list_my_tasks(signed(
                    api::ListMyTasksRequest {
                        status: 9,
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "status",
        ),
        (
            "bad page token",
            client
                .list_my_tasks(signed(
                    api::ListMyTasksRequest {
                        page_token: "??".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .unwrap_err(),
            Code::InvalidArgument,
            "page_token",
        ),
        (
            "reassigning as a worker",
            client
                .reassign_open_tasks(signed(api::ReassignOpenTasksRequest::default(), token))
                .await
                .unwrap_err(),
            Code::PermissionDenied,
            "role worker",
        ),
        (
            "listing all tasks as a worker",
            client
                .list_tasks(signed(api::ListTasksRequest::default(), token))
                .await
                .unwrap_err(),
            Code::PermissionDenied,
            "role worker",
        ),
        (
            "no token",
            client
                .get_task(api::GetTaskRequest {
                    task_id: task.task_id.clone(),
                })
                .await
                .unwrap_err(),
            Code::Unauthenticated,
            "token",
        ),
    ];
    ates_testkit::assert_refusals(&cases);
}

#[tokio::test(flavor = "multi_thread")]
async fn popugs_list_their_own_tasks_by_status_and_managers_list_all_a_page_at_a_time() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let mut ids = Vec::new();
    for index in 0..5 {
        ids.push(
            world
                .create_task(&manager, &format!("task {index}"))
                .await
                .task_id,
        );
    }
    let mut client = world.client().await;
    client
        .complete_task(signed(
            api::CompleteTaskRequest {
                task_id: ids[0].clone(),
                ..Default::default()
            },
            &worker.token,
        ))
        .await
        .unwrap();

    let mine = |status: api::TaskStatus| {
        signed(
            api::ListMyTasksRequest {
                status: status as i32,
                ..Default::default()
            },
            &worker.token,
        )
    };
    assert_eq!(
        client
            .list_my_tasks(mine(api::TaskStatus::Open))
            .await
            .unwrap()
            .into_inner()
            .tasks
            .len(),
        4
    );
    let done = client
        .list_my_tasks(mine(api::TaskStatus::Done))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(
        done.iter()
            .map(|task| task.task_id.clone())
            .collect::<Vec<_>>(),
        [ids[0].clone()]
    );
    assert!(
        client
            .list_my_tasks(signed(api::ListMyTasksRequest::default(), &manager.token))
            .await
            .unwrap()
            .into_inner()
            .tasks
            .is_empty()
    );

    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tasks(signed(
                api::ListTasksRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                &manager.token,
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.tasks.into_iter().map(|task| task.task_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, every task once");
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_never_go_to_managers_or_admins_and_every_eligible_popug_gets_some() {
    let world = World::start().await;
    let mut eligible = HashSet::new();
    for index in 0..4 {
        eligible.insert(
            world
                .popug(&format!("worker{index}"), Role::Worker)
                .await
                .id
                .to_string(),
        );
    }
    eligible.insert(
        world
            .popug("accountant", Role::Accountant)
            .await
            .id
            .to_string(),
    );
    let manager = world.popug("manager", Role::Manager).await;
    world.popug("manager2", Role::Manager).await;
    let admin = world.admin().await;

    let mut counts: HashMap<String, usize> = HashMap::new();
    for index in 0..250 {
        let creator = if index % 2 == 0 { &manager } else { &admin };
        let task = world.create_task(creator, &format!("task {index}")).await;
        *counts.entry(task.assignee_id).or_default() += 1;
    }
    world.reshuffle(&manager).await;
    let mut client = world.client().await;
    let all = client
        .list_tasks(signed(
            api::ListTasksRequest {
                page_size: 500,
                ..Default::default()
            },
            &manager.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    for task in &all {
        *counts.entry(task.assignee_id.clone()).or_default() += 1;
    }
    assert!(
        counts.keys().all(|assignee| eligible.contains(assignee)),
        "a manager or admin got a task: {counts:?}"
    );
    // 500 draws over 5 popugs: 100 expected each; below 40 has a probability far under 1e-9.
    for popug in &eligible {
        let got = counts.get(popug).copied().unwrap_or(0);
        assert!(
            got >= 40,
            "{popug} got only {got} of 500 assignments: {counts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prices_are_fixed_at_creation_and_never_change() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    world.popug("worker2", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let mut created = Vec::new();
    for index in 0..20 {
        created.push(
            world
                .create_task(&manager, &format!("priced {index}"))
                .await,
        );
    }
    for _ in 0..3 {
        world.reshuffle(&manager).await;
    }
    let mut client = world.client().await;
    for task in &created {
        let now = world.get_task(&manager, &task.task_id).await;
        if now.assignee_id == worker.id.to_string() {
            client
                .complete_task(signed(
                    api::CompleteTaskRequest {
                        task_id: task.task_id.clone(),
                        ..Default::default()
                    },
                    &worker.token,
                ))
                .await
                .unwrap();
        }
        let now = world.get_task(&manager, &task.task_id).await;
        assert_eq!(
            (now.fee_cents, now.reward_cents),
            (task.fee_cents, task.reward_cents)
        );
    }
    let prices: HashMap<String, (i64, i64)> = created
        .iter()
        .map(|task| (task.task_id.clone(), (task.fee_cents, task.reward_cents)))
        .collect();
    let lifecycle = world
        .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
        .await;
    let mut fees_seen = 0;
    for added in payloads::<events::TaskAdded>(&lifecycle) {
        let assignment = added.assignment.unwrap();
        assert_eq!(assignment.fee_cents, prices[&assignment.task_id].0);
        fees_seen += 1;
    }
    for batch in payloads::<events::TasksReassigned>(&lifecycle) {
        for assignment in batch.assignments {
            assert_eq!(assignment.fee_cents, prices[&assignment.task_id].0);
            fees_seen += 1;
        }
    }
    assert_eq!(
        fees_seen,
        20 + 3 * 20,
        "creation plus three reshuffles of the tasks open at each"
    );
    for completed in payloads::<v1::TaskCompleted>(&lifecycle) {
        assert_eq!(completed.reward_cents, prices[&completed.task_id].1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_change_in_auth_makes_a_popug_eligible_or_ineligible() {
    let world = World::start().await;
    let popug = world.popug("popug", Role::Worker).await;
    let admin = world.admin().await;
    assert_eq!(
        world.create_task(&admin, "for the popug").await.assignee_id,
        popug.id.to_string()
    );

    world.change_role(&popug, Role::Manager).await;
    let refused = world
        .client()
        .await
        .create_task(signed(
            api::CreateTaskRequest {
                description: "nobody left".into(),
                ..Default::default()
            },
            &admin.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);

    world.change_role(&popug, Role::Accountant).await;
    assert_eq!(
        world.create_task(&admin, "back again").await.assignee_id,
        popug.id.to_string()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_with_the_same_request_id_acts_once_and_answers_like_the_first_call() {
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let manager = world.popug("manager", Role::Manager).await;
    let mut client = world.client().await;
    let create = |description: &str, request_id: &str, popug: &Popug| {
        signed(
            api::CreateTaskRequest {
                description: description.to_owned(),
                request_id: request_id.to_owned(),
                ..Default::default()
            },
            &popug.token,
        )
    };

    // Two racing calls with one key: one task, one answer.
    let key = uuid::Uuid::new_v4().to_string();
    let (mut one, mut other) = (world.client().await, world.client().await);
    let (first, second) = tokio::join!(
        one.create_task(create("once", &key, &manager)),
        other.create_task(create("once", &key, &manager)),
    );
    let first = first.unwrap().into_inner().task.unwrap();
    let second = second.unwrap().into_inner().task.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        world
            .count("SELECT count(*) AS n FROM tasks WHERE description = 'once'")
            .await,
        1
    );
    // The same key for another request is refused naming the field; another caller's key space
    // is its own.
    let reused = client
        .create_task(create("something else", &key, &manager))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument);
    assert!(reused.message().starts_with("request_id:"), "{reused:?}");
    let other_caller = client
        .create_task(create("once", &key, &worker))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_ne!(other_caller.task_id, first.task_id);
    let malformed = client
        .create_task(create("once", "not-a-uuid", &manager))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert!(
        malformed.message().starts_with("request_id:"),
        "{malformed:?}"
    );

    // A retried reshuffle reports the first one and assigns nothing more.
    let reshuffle_key = uuid::Uuid::new_v4().to_string();
    let reshuffle = |popug: &Popug| {
        signed(
            api::ReassignOpenTasksRequest {
                request_id: reshuffle_key.clone(),
            },
            &popug.token,
        )
    };
    let once = client
        .reassign_open_tasks(reshuffle(&manager))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .reassign_open_tasks(reshuffle(&manager))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(once, again);
    assert_eq!(once.reassigned_count, 2);
    assert_eq!(
        world
            .count("SELECT count(*) AS n FROM assignments WHERE reshuffle_id IS NOT NULL")
            .await,
        2
    );
    let not_for_reshuffle = client
        .create_task(create("once", &reshuffle_key, &manager))
        .await
        .unwrap_err();
    assert_eq!(not_for_reshuffle.code(), Code::InvalidArgument);

    // A retried completion answers with the done task instead of FAILED_PRECONDITION (the
    // worker is the only popug who can be assigned).
    let task = world.get_task(&manager, &first.task_id).await;
    assert_eq!(task.assignee_id, worker.id.to_string());
    let complete_key = uuid::Uuid::new_v4().to_string();
    let complete = || {
        signed(
            api::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                request_id: complete_key.clone(),
            },
            &worker.token,
        )
    };
    let done = client.complete_task(complete()).await.unwrap().into_inner();
    let retried = client.complete_task(complete()).await.unwrap().into_inner();
    assert_eq!(done, retried);
    assert_eq!(done.task.unwrap().status, api::TaskStatus::Done as i32);
    let without_key = client
        .complete_task(signed(
            api::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &worker.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(without_key.code(), Code::FailedPrecondition);

    let added: Vec<events::TaskAdded> = payloads(
        &world
            .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
            .await,
    );
    assert_eq!(added.len(), 2, "two tasks created, two TaskAdded events");
    let completed: Vec<v1::TaskCompleted> = payloads(
        &world
            .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
            .await,
    );
    assert_eq!(
        completed.len(),
        1,
        "two successful answers, one completion event"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_request_keys_and_inbox_ids_are_pruned_and_recent_ones_kept() {
    use diesel_async::RunQueryDsl;

    // Tests run housekeeping every second; keys live 72 hours, inbox ids 30 days.
    let world = World::start().await;
    let serving = ates_testkit::wait_for_health(
        &world.tracker.endpoint(),
        ates_testkit::HealthStatus::Serving,
        std::time::Duration::from_secs(30),
    )
    .await;
    assert_eq!(serving, ates_testkit::HealthStatus::Serving);
    let mut conn = world.tracker_pool.get().await.unwrap();
    for statement in [
        "INSERT INTO request_keys (caller_id, request_id, method, fingerprint, created_at) \
         SELECT gen_random_uuid(), gen_random_uuid(), 'CreateTask', 'old', now() - interval '73 hours' \
         FROM generate_series(1, 25000)",
        "INSERT INTO request_keys (caller_id, request_id, method, fingerprint, created_at) \
         VALUES (gen_random_uuid(), gen_random_uuid(), 'CreateTask', 'recent', now() - interval '71 hours')",
        "INSERT INTO inbox_events (event_id, event_type, queue, applied_at) \
         SELECT gen_random_uuid(), 'old', 'q', now() - interval '31 days' FROM generate_series(1, 100)",
        "INSERT INTO inbox_events (event_id, event_type, queue, applied_at) \
         VALUES (gen_random_uuid(), 'recent', 'q', now() - interval '29 days')",
    ] {
        diesel::sql_query(statement)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let pruned = ates_testkit::eventually(std::time::Duration::from_secs(30), || async {
        let old_keys = world
            .count("SELECT count(*) AS n FROM request_keys WHERE fingerprint = 'old'")
            .await;
        let old_ids = world
            .count("SELECT count(*) AS n FROM inbox_events WHERE event_type = 'old'")
            .await;
        (old_keys == 0 && old_ids == 0).then_some(())
    })
    .await;
    assert!(pruned.is_some(), "expired rows were not pruned");
    assert_eq!(
        world
            .count("SELECT count(*) AS n FROM request_keys WHERE fingerprint = 'recent'")
            .await,
        1
    );
    assert_eq!(
        world
            .count("SELECT count(*) AS n FROM inbox_events WHERE event_type = 'recent'")
            .await,
        1
    );
}
