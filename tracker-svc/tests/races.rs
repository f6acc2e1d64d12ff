//! Completions racing reshuffles, and large reshuffles, against the real tracker.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::tracker::events::{v1, v2 as events};
use ates_contracts::ates::tracker::v1 as api;
use ates_contracts::routing::{self, Service};
use ates_testkit::signed;
use ates_testkit::tracker::{World, payloads};
use tonic::Code;

#[tokio::test(flavor = "multi_thread")]
async fn completions_racing_reshuffles_never_reassign_a_done_task_and_every_assignment_is_one_event()
 {
    let world = Arc::new(World::start().await);
    let mut workers = Vec::new();
    for index in 0..3 {
        workers.push(world.popug(&format!("racer{index}"), Role::Worker).await);
    }
    let manager = world.popug("manager", Role::Manager).await;
    for index in 0..60 {
        world.create_task(&manager, &format!("race {index}")).await;
    }

    let mut completed_by: HashMap<String, uuid::Uuid> = HashMap::new();
    for _round in 0..10 {
        let mut racers = tokio::task::JoinSet::new();
        for _ in 0..2 {
            let world = Arc::clone(&world);
            let manager = manager.clone();
            racers.spawn(async move {
                world.reshuffle(&manager).await;
                Vec::new()
            });
        }
        for worker in workers.clone() {
            let world = Arc::clone(&world);
            racers.spawn(async move {
                let mut client = world.client().await;
                let open = client
                    .list_my_tasks(signed(
                        api::ListMyTasksRequest {
                            status: api::TaskStatus::Open as i32,
                            ..Default::default()
                        },
                        &worker.token,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .tasks;
                let mut done = Vec::new();
                for task in open.into_iter().take(2) {
                    match client
                        .complete_task(signed(
                            api::CompleteTaskRequest {
                                task_id: task.task_id.clone(),
                                ..Default::default()
                            },
                            &worker.token,
                        ))
                        .await
                    {
                        Ok(response) => {
                            let task = response.into_inner().task.unwrap();
                            assert_eq!(task.assignee_id, worker.id.to_string());
                            done.push((task.task_id, worker.id));
                        }
                        // Lost in a reshuffle between listing and completing: the rule at work.
                        Err(status) if status.code() == Code::PermissionDenied => {}
                        Err(status) => panic!("unexpected {status:?}"),
                    }
                }
                done
            });
        }
        while let Some(finished) = racers.join_next().await {
            for (task_id, worker) in finished.unwrap() {
                assert!(
                    completed_by.insert(task_id, worker).is_none(),
                    "a task was completed twice"
                );
            }
        }
    }
    assert!(!completed_by.is_empty());

    // The database: no done task has an assignment after its completion, and it was completed by
    // its last assignee.
    assert_eq!(
        world
            .count(
                "SELECT count(*) AS n FROM assignments a JOIN tasks t ON t.id = a.task_id \
                 WHERE t.status = 'done' AND a.assigned_at > t.completed_at"
            )
            .await,
        0
    );
    assert_eq!(
        world
            .count(
                "SELECT count(*) AS n FROM tasks t WHERE t.status = 'done' AND t.assignee_id <> \
                 (SELECT a.assignee_id FROM assignments a WHERE a.task_id = t.id ORDER BY a.assigned_at DESC LIMIT 1)"
            )
            .await,
        0
    );
    assert_eq!(
        world
            .count("SELECT count(*) AS n FROM tasks WHERE status = 'done'")
            .await,
        completed_by.len() as i64
    );

    // The events: exactly one per recorded assignment, exactly one completion per done task.
    let lifecycle = world
        .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
        .await;
    let mut event_assignments: Vec<String> = payloads::<events::TaskAdded>(&lifecycle)
        .into_iter()
        .map(|added| added.assignment.unwrap().assignment_id)
        .collect();
    for batch in payloads::<events::TasksReassigned>(&lifecycle) {
        event_assignments.extend(
            batch
                .assignments
                .into_iter()
                .map(|assignment| assignment.assignment_id),
        );
    }
    let unique: HashSet<&String> = event_assignments.iter().collect();
    assert_eq!(
        unique.len(),
        event_assignments.len(),
        "an assignment appeared in two events"
    );
    assert_eq!(
        event_assignments.len() as i64,
        world.count("SELECT count(*) AS n FROM assignments").await
    );
    let completions: Vec<String> = payloads::<v1::TaskCompleted>(&lifecycle)
        .into_iter()
        .map(|completed| completed.task_id)
        .collect();
    assert_eq!(completions.len(), completed_by.len());
    assert_eq!(
        completions.iter().collect::<HashSet<_>>(),
        completed_by.keys().collect::<HashSet<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reshuffle_of_ten_thousand_open_tasks_emits_exactly_ten_thousand_assignments_in_bounded_batches()
 {
    const TASKS: usize = 10_000;
    const BATCH: usize = 500;
    let world = Arc::new(World::start_with_batch_size(BATCH).await);
    world.popug("worker", Role::Worker).await;
    world.popug("accountant", Role::Accountant).await;
    let manager = world.popug("manager", Role::Manager).await;
    let mut creators = tokio::task::JoinSet::new();
    for creator in 0..16 {
        let world = Arc::clone(&world);
        let manager = manager.clone();
        creators.spawn(async move {
            let mut client = world.client().await;
            for index in (creator..TASKS).step_by(16) {
                client
                    .create_task(signed(
                        api::CreateTaskRequest {
                            description: format!("bulk {index}"),
                            ..Default::default()
                        },
                        &manager.token,
                    ))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(creator) = creators.join_next().await {
        creator.unwrap();
    }

    let reshuffle = world.reshuffle(&manager).await;
    assert_eq!(reshuffle.reassigned_count, TASKS as i64);
    let lifecycle = world
        .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
        .await;
    let batches: Vec<events::TasksReassigned> = payloads::<events::TasksReassigned>(&lifecycle)
        .into_iter()
        .filter(|batch| batch.reshuffle_id == reshuffle.reshuffle_id)
        .collect();
    assert_eq!(batches.len(), TASKS / BATCH);
    let indexes: HashSet<u32> = batches.iter().map(|batch| batch.batch_index).collect();
    assert_eq!(indexes, (0..(TASKS / BATCH) as u32).collect());
    assert!(batches.iter().all(
        |batch| batch.batch_count as usize == TASKS / BATCH && batch.assignments.len() <= BATCH
    ));
    let tasks: HashSet<String> = batches
        .iter()
        .flat_map(|batch| {
            batch
                .assignments
                .iter()
                .map(|assignment| assignment.task_id.clone())
        })
        .collect();
    assert_eq!(tasks.len(), TASKS, "every open task exactly once");
    assert_eq!(
        batches
            .iter()
            .map(|batch| batch.assignments.len())
            .sum::<usize>(),
        TASKS
    );
}
