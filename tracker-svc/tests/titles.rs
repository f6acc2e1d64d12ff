//! Schema v2 in the tracker: titles and jira ids through the API, the events of each version the
//! setting picks, and the backfill of tasks written before titles existed.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::tracker::events::{v1, v2};
use ates_contracts::ates::tracker::v1 as api;
use ates_contracts::routing::{self, Service};
use ates_messaging::Outbox;
use ates_testkit::signed;
use ates_testkit::tracker::{World, payloads};
use diesel_async::RunQueryDsl;
use tonic::Code;
use tracker_svc::config::{TaskEventsVersion, TrackerConfig};
use tracker_svc::operations::Backfill;

fn create(description: &str, title: &str, jira_id: &str) -> api::CreateTaskRequest {
    api::CreateTaskRequest {
        description: description.to_owned(),
        title: title.to_owned(),
        jira_id: jira_id.to_owned(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn titles_and_jira_ids_are_given_or_read_from_old_descriptions_and_bad_ones_name_their_field()
{
    let world = World::start().await;
    let worker = world.popug("worker", Role::Worker).await;
    let mut client = world.client().await;
    let created = |request| {
        let mut client = client.clone();
        let token = worker.token.clone();
        async move {
            client
                .create_task(signed(request, &token))
                .await
                .map(|response| response.into_inner().task.unwrap())
        }
    };

    // A new client gives both; surrounding spaces go.
    let given = created(create("the long story", "  Fix the button ", "UBERPOP-42"))
        .await
        .unwrap();
    assert_eq!(
        (given.title.as_str(), given.jira_id.as_str()),
        ("Fix the button", "UBERPOP-42")
    );
    // An old client sends a description only: title and jira id are read from it, and the
    // description stays as written.
    let old = created(create("[uberpop-7] - Paint the beak", "", ""))
        .await
        .unwrap();
    assert_eq!(
        (old.title.as_str(), old.jira_id.as_str()),
        ("Paint the beak", "UBERPOP-7")
    );
    assert_eq!(old.description, "[uberpop-7] - Paint the beak");
    // An old client that gives a jira id keeps it, whatever the description says.
    let given_id = created(create("[UBERPOP-5] Oil the wheel", "", "UBERPOP-6"))
        .await
        .unwrap();
    assert_eq!(
        (given_id.title.as_str(), given_id.jira_id.as_str()),
        ("Oil the wheel", "UBERPOP-6")
    );
    let plain = created(create("Feed the popugs\nall of them", "", ""))
        .await
        .unwrap();
    assert_eq!(
        (plain.title.as_str(), plain.jira_id.as_str()),
        ("Feed the popugs", "")
    );

    // Bad titles and ids: INVALID_ARGUMENT naming the field and the rule.
    for (request, field, rule) in [
        (create("x", "[UBERPOP-1] Fix", ""), "title", "[` or `]"),
        (create("x", " \t ", ""), "title", "empty"),
        (create("x", &"t".repeat(201), ""), "title", "200"),
        (create("x", "two\nlines", ""), "title", "one line"),
        (create("x", "Fix", "uberpop-1"), "jira_id", "UBERPOP-42"),
        (create("x", "Fix", "UBERPOP"), "jira_id", "UBERPOP-42"),
        (
            create("x", "Fix", &format!("A-{}", "1".repeat(70))),
            "jira_id",
            "64",
        ),
    ] {
        let status = created(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert!(
            status.message().starts_with(&format!("{field}: ")) && status.message().contains(rule),
            "{request:?}: {}",
            status.message()
        );
    }

    // UpdateTaskDetails changes what it names; UpdateTaskDescription moves a derived title.
    let details =
        |task_id: &str, description: Option<&str>, title: Option<&str>, jira: Option<&str>| {
            api::UpdateTaskDetailsRequest {
                task_id: task_id.to_owned(),
                description: description.map(str::to_owned),
                title: title.map(str::to_owned),
                jira_id: jira.map(str::to_owned),
            }
        };
    let moved = client
        .update_task_description(signed(
            api::UpdateTaskDescriptionRequest {
                task_id: old.task_id.clone(),
                description: "[UBERPOP-8] Paint the beak blue".to_owned(),
            },
            &worker.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(
        (moved.title.as_str(), moved.jira_id.as_str()),
        ("Paint the beak blue", "UBERPOP-8")
    );
    let retitled = client
        .update_task_details(signed(
            details(&old.task_id, None, Some("Blue beak"), Some("")),
            &worker.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(
        (
            retitled.title.as_str(),
            retitled.jira_id.as_str(),
            retitled.description.as_str()
        ),
        ("Blue beak", "", "[UBERPOP-8] Paint the beak blue")
    );
    let kept = client
        .update_task_description(signed(
            api::UpdateTaskDescriptionRequest {
                task_id: old.task_id.clone(),
                description: "[UBERPOP-9] Something else".to_owned(),
            },
            &worker.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(
        (kept.title.as_str(), kept.jira_id.as_str()),
        ("Blue beak", ""),
        "a given title no longer follows the description"
    );
    for (request, field) in [
        (details(&old.task_id, None, None, None), "request"),
        (details(&old.task_id, None, Some("a ] b"), None), "title"),
        (details(&old.task_id, None, None, Some("42")), "jira_id"),
        (details(&old.task_id, Some(""), None, None), "description"),
        (details("not-a-uuid", None, Some("ok"), None), "task_id"),
    ] {
        let status = client
            .update_task_details(signed(request.clone(), &worker.token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{request:?}: {}",
            status.message()
        );
    }
    let stranger = world.popug("stranger", Role::Worker).await;
    let refused = client
        .update_task_details(signed(
            details(&given.task_id, None, Some("Mine now"), None),
            &stranger.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // The events are v2 and carry what the API answered, at their revisions.
    let lifecycle = world
        .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
        .await;
    assert!(payloads::<v1::TaskAdded>(&lifecycle).is_empty());
    let added: BTreeMap<String, v2::Assignment> = payloads::<v2::TaskAdded>(&lifecycle)
        .into_iter()
        .map(|added| (added.task_id, added.assignment.unwrap()))
        .collect();
    let first = &added[&given.task_id];
    assert_eq!(
        (
            first.title.as_str(),
            first.jira_id.as_str(),
            first.details_revision
        ),
        ("Fix the button", "UBERPOP-42", 1)
    );
    assert_eq!(added[&old.task_id].jira_id, "UBERPOP-7");
    let tasks = world
        .settled_events(Service::Analytics, routing::TRACKER_TASKS)
        .await;
    let created: Vec<v2::TaskCreated> = payloads(&tasks);
    assert_eq!(created.len(), 4);
    assert!(
        created
            .iter()
            .any(|task| task.task_id == given_id.task_id && task.jira_id == "UBERPOP-6")
    );
    assert!(payloads::<v1::TaskCreated>(&tasks).is_empty());
    let updates: Vec<(u64, String, String)> = payloads::<v2::TaskDetailsUpdated>(&tasks)
        .into_iter()
        .filter(|update| update.task_id == old.task_id)
        .map(|update| (update.revision, update.title, update.jira_id))
        .collect();
    assert_eq!(
        updates,
        [
            (2, "Paint the beak blue".to_owned(), "UBERPOP-8".to_owned()),
            (3, "Blue beak".to_owned(), String::new()),
            (4, "Blue beak".to_owned(), String::new()),
        ]
    );
    assert!(payloads::<v1::TaskDescriptionUpdated>(&tasks).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_v1_events_the_tracker_publishes_descriptions_only_and_leaves_titles_unannounced() {
    let world = World::start_with(TrackerConfig {
        task_events_version: TaskEventsVersion::V1,
        backfill_interval: Duration::from_millis(200),
        ..TrackerConfig::default()
    })
    .await;
    let worker = world.popug("worker", Role::Worker).await;
    let mut client = world.client().await;
    let task = client
        .create_task(signed(
            create("[UBERPOP-3] Fix it", "Fix it now", ""),
            &worker.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(
        task.title, "Fix it now",
        "the API has titles whatever the events"
    );
    client
        .update_task_details(signed(
            api::UpdateTaskDetailsRequest {
                task_id: task.task_id.clone(),
                title: Some("Fix it today".to_owned()),
                ..Default::default()
            },
            &worker.token,
        ))
        .await
        .unwrap();

    let lifecycle = world
        .settled_events(Service::Accounting, routing::TRACKER_TASK_LIFECYCLE)
        .await;
    assert_eq!(payloads::<v1::TaskAdded>(&lifecycle).len(), 1);
    assert!(payloads::<v2::TaskAdded>(&lifecycle).is_empty());
    let tasks = world
        .settled_events(Service::Analytics, routing::TRACKER_TASKS)
        .await;
    assert_eq!(payloads::<v1::TaskCreated>(&tasks).len(), 1);
    let updates = payloads::<v1::TaskDescriptionUpdated>(&tasks);
    assert_eq!(
        updates
            .iter()
            .map(|update| (update.revision, update.description.as_str()))
            .collect::<Vec<_>>(),
        [(2, "[UBERPOP-3] Fix it")],
        "a title change under v1 still moves the revision consumers see"
    );
    // No backfill runs under v1: nothing v2 was published, and the task waits to be announced.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        world
            .events(Service::Analytics, routing::TRACKER_TASKS)
            .await
            .iter()
            .all(|envelope| envelope.event_type.starts_with("ates.tracker.events.v1."))
    );
    assert_eq!(
        world
            .count(
                "SELECT count(*) AS n FROM tasks \
                 WHERE announced_revision IS DISTINCT FROM description_revision"
            )
            .await,
        1
    );
}

/// Rows as a tracker of the previous release wrote them: no title, no jira id.
const LEGACY_ROWS: i64 = 2_345;

#[tokio::test(flavor = "multi_thread")]
async fn the_backfill_titles_old_tasks_in_batches_announces_each_once_and_keeps_every_description()
{
    // Under v1 the tracker runs no backfill of its own: the test runs the batches itself.
    let world = World::start_with(TrackerConfig {
        task_events_version: TaskEventsVersion::V1,
        ..TrackerConfig::default()
    })
    .await;
    let mut conn = world.tracker_pool.get().await.unwrap();
    // What the previous release's tables hold once the migration added the columns: every
    // legacy form of description.
    diesel::sql_query(format!(
        "INSERT INTO tasks (public_id, description, status, assignee_id, creator_id, fee_cents, reward_cents, created_at) \
         SELECT gen_random_uuid(), \
                CASE n % 6 \
                  WHEN 0 THEN '[UBERPOP-' || n || '] Fix the button ' || n \
                  WHEN 1 THEN '[UBERPOP-' || n || '] - Fix the button ' || n \
                  WHEN 2 THEN '[uberpop-' || n || ']: Fix the button ' || n \
                  WHEN 3 THEN 'Fix the button ' || n || ' [UBERPOP-' || n || ']' \
                  WHEN 4 THEN '[UBERPOP-' || n || ']' \
                  ELSE 'Попуг ' || n || E'\\nsecond line' \
                END, \
                'open', gen_random_uuid(), gen_random_uuid(), 1000, 2000, now() \
         FROM generate_series(1, {LEGACY_ROWS}) AS n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let backfill = Backfill::new(
        world.tracker_pool.clone(),
        Outbox::new(Service::Tracker),
        500,
    );
    let mut batches = Vec::new();
    loop {
        let done = backfill.batch().await.unwrap();
        batches.push(done);
        if done == 0 {
            break;
        }
    }
    assert_eq!(
        batches,
        [500, 500, 500, 500, 345, 0],
        "batches of 500, then nothing"
    );
    assert_eq!(
        world
            .count(
                "SELECT count(*) AS n FROM tasks \
                 WHERE announced_revision IS DISTINCT FROM description_revision"
            )
            .await,
        0
    );

    #[derive(diesel::QueryableByName, Debug)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        description: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        title: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        jira_id: Option<String>,
    }
    let stored: Vec<Stored> =
        diesel::sql_query("SELECT description, title, jira_id FROM tasks ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap();
    assert_eq!(stored.len() as i64, LEGACY_ROWS);
    let at = |n: usize| &stored[n - 1];
    let pair = |row: &Stored| (row.jira_id.clone(), row.title.clone().unwrap());
    let some = |text: &str| Some(text.to_owned());
    assert_eq!(
        pair(at(6)),
        (some("UBERPOP-6"), "Fix the button 6".to_owned())
    );
    assert_eq!(
        pair(at(7)),
        (some("UBERPOP-7"), "Fix the button 7".to_owned())
    );
    assert_eq!(
        pair(at(8)),
        (some("UBERPOP-8"), "Fix the button 8".to_owned())
    );
    assert_eq!(
        pair(at(9)),
        (None, "Fix the button 9 (UBERPOP-9)".to_owned()),
        "a key in the middle is text"
    );
    assert_eq!(pair(at(10)), (some("UBERPOP-10"), "UBERPOP-10".to_owned()));
    assert_eq!(pair(at(11)), (None, "Попуг 11".to_owned()));
    assert_eq!(
        at(7).description,
        "[UBERPOP-7] - Fix the button 7",
        "kept as written"
    );
    assert!(stored.iter().all(|row| row.title.is_some()));

    // Each task was announced once, to both consumers, with what was stored.
    let world = &world;
    let announced = |consumer| async move {
        let tasks = world.settled_events(consumer, routing::TRACKER_TASKS).await;
        payloads::<v2::TaskDetailsUpdated>(&tasks)
    };
    for consumer in [Service::Accounting, Service::Analytics] {
        let updates = announced(consumer).await;
        let by_task: BTreeMap<&str, &v2::TaskDetailsUpdated> = updates
            .iter()
            .map(|update| (update.task_id.as_str(), update))
            .collect();
        assert_eq!(updates.len() as i64, LEGACY_ROWS, "{consumer:?}");
        assert_eq!(by_task.len() as i64, LEGACY_ROWS, "{consumer:?}: each once");
        assert!(updates.iter().all(|update| update.revision == 1));
        assert!(
            updates
                .iter()
                .any(|update| update.title == "Fix the button 7" && update.jira_id == "UBERPOP-7")
        );
    }

    // A tracker of the previous release, still running during the upgrade, changes a
    // description: the next round reads the title again and announces it at the new revision.
    diesel::sql_query(
        "UPDATE tasks SET description = '[UBERPOP-77] Moved', \
         description_revision = description_revision + 1 \
         WHERE id = (SELECT min(id) FROM tasks)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(backfill.batch().await.unwrap(), 1);
    assert_eq!(backfill.batch().await.unwrap(), 0);
    let moved: Vec<v2::TaskDetailsUpdated> = announced(Service::Analytics)
        .await
        .into_iter()
        .filter(|update| update.revision == 2)
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (
            moved[0].title.as_str(),
            moved[0].jira_id.as_str(),
            moved[0].description.as_str()
        ),
        ("Moved", "UBERPOP-77", "[UBERPOP-77] Moved")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backfill_worker_runs_by_itself_under_v2_and_picks_up_rows_written_later() {
    let world = World::start_with(TrackerConfig {
        backfill_interval: Duration::from_millis(200),
        ..TrackerConfig::default()
    })
    .await;
    let mut conn = world.tracker_pool.get().await.unwrap();
    // Written after the worker's first round, as a tracker of the previous release would.
    diesel::sql_query(
        "INSERT INTO tasks (public_id, description, status, assignee_id, creator_id, fee_cents, reward_cents, created_at) \
         SELECT gen_random_uuid(), '[POP-' || n || '] late ' || n, 'open', gen_random_uuid(), gen_random_uuid(), 1000, 2000, now() \
         FROM generate_series(1, 30) AS n",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let done = ates_testkit::eventually(Duration::from_secs(30), || async {
        (world
            .count(
                "SELECT count(*) AS n FROM tasks \
                 WHERE announced_revision IS DISTINCT FROM description_revision OR title IS NULL",
            )
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert!(done.is_some(), "the worker did not announce the late rows");
    let tasks = world
        .settled_events(Service::Analytics, routing::TRACKER_TASKS)
        .await;
    let updates = payloads::<v2::TaskDetailsUpdated>(&tasks);
    assert_eq!(updates.len(), 30);
    assert!(
        updates
            .iter()
            .all(|update| update.jira_id.starts_with("POP-") && update.title.starts_with("late "))
    );
}
