//! The tracker's answer to a resync request, through the shared snapshot sender: every task
//! once, in batches numbered from 0 with the last one marked, once per request however often the
//! request is delivered.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use ates_contracts::ates::analytics::events::v1::ResyncRequested;
use ates_contracts::ates::tracker::events::v2 as events;
use ates_contracts::routing::{self, Service};
use ates_testkit::ConfirmedChannel;
use ates_testkit::tracker::World;
use chrono::Utc;
use diesel_async::RunQueryDsl;
use prost::Message as _;
use uuid::Uuid;

const TASKS: i64 = 2_300;

#[tokio::test(flavor = "multi_thread")]
async fn a_resync_request_gets_every_task_once_in_numbered_batches_however_often_it_arrives() {
    let world = World::start().await;
    // Tasks as the tracker stores them; one with a rewritten description.
    let mut conn = world.tracker_pool.get().await.unwrap();
    diesel::sql_query(format!(
        "INSERT INTO tasks (public_id, description, status, assignee_id, creator_id, fee_cents, reward_cents, created_at) \
         SELECT gen_random_uuid(), 'task ' || n, 'open', gen_random_uuid(), gen_random_uuid(), 1000 + (n % 11) * 100, 2000 + (n % 21) * 100, now() \
         FROM generate_series(1, {TASKS}) AS n"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "UPDATE tasks SET description = 'rewritten', description_revision = 3 WHERE description = 'task 7'",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let broker = ConfirmedChannel::open(&world.auth.broker).await.unwrap();
    let first = Uuid::new_v4();
    let request = ResyncRequested {
        resync_id: first.to_string(),
        requested_at: Some(ates_contracts::time::timestamp(Utc::now())),
    };
    let body = broker.publish_event(&request, Utc::now()).await;
    // The same request again, byte for byte, and a second request.
    broker
        .publish(
            routing::ANALYTICS_RESYNC,
            "ates.analytics.events.v1.ResyncRequested",
            &body,
            lapin::BasicProperties::default().with_delivery_mode(2),
        )
        .await;
    let second = Uuid::new_v4();
    broker
        .publish_event(
            &ResyncRequested {
                resync_id: second.to_string(),
                requested_at: Some(ates_contracts::time::timestamp(Utc::now())),
            },
            Utc::now(),
        )
        .await;

    // Both snapshots are sent completely: wait until each has its last batch.
    let snapshots = || async {
        world
            .events(Service::Analytics, routing::TRACKER_TASKS)
            .await
            .into_iter()
            .filter(|envelope| envelope.event_type == "ates.tracker.events.v2.TasksSnapshot")
            .map(|envelope| events::TasksSnapshot::decode(envelope.payload.as_slice()).unwrap())
            .collect::<Vec<_>>()
    };
    let complete = ates_testkit::eventually(std::time::Duration::from_secs(60), || async {
        let lasts = snapshots()
            .await
            .iter()
            .filter(|snapshot| snapshot.batch.as_ref().unwrap().last)
            .count();
        (lasts == 2).then_some(())
    })
    .await;
    assert!(
        complete.is_some(),
        "got {} batches",
        snapshots().await.len()
    );
    let mut batches: BTreeMap<(String, u32), events::TasksSnapshot> = BTreeMap::new();
    for snapshot in snapshots().await {
        let batch = snapshot.batch.clone().unwrap();
        let previous = batches.insert((batch.resync_id.clone(), batch.index), snapshot);
        assert!(previous.is_none(), "batch {batch:?} was sent twice");
    }

    for resync in [first, second] {
        let mine: Vec<&events::TasksSnapshot> = batches
            .iter()
            .filter(|((id, _), _)| *id == resync.to_string())
            .map(|(_, snapshot)| snapshot)
            .collect();
        let indexes: Vec<u32> = mine
            .iter()
            .map(|s| s.batch.as_ref().unwrap().index)
            .collect();
        assert_eq!(
            indexes,
            [0, 1, 2],
            "{resync}: batches of at most 1,000 tasks"
        );
        let lasts: Vec<bool> = mine
            .iter()
            .map(|s| s.batch.as_ref().unwrap().last)
            .collect();
        assert_eq!(lasts, [false, false, true]);
        assert!(
            mine.iter()
                .all(|s| s.batch.as_ref().unwrap().stream == "tasks")
        );
        let tasks: BTreeMap<&str, &events::tasks_snapshot::Task> = mine
            .iter()
            .flat_map(|snapshot| &snapshot.tasks)
            .map(|task| (task.task_id.as_str(), task))
            .collect();
        let sent: usize = mine.iter().map(|snapshot| snapshot.tasks.len()).sum();
        assert_eq!(
            (sent, tasks.len()),
            (TASKS as usize, TASKS as usize),
            "each task once"
        );
        let rewritten: Vec<_> = tasks
            .values()
            .filter(|task| task.description == "rewritten")
            .collect();
        assert_eq!(rewritten.len(), 1);
        assert_eq!(rewritten[0].details_revision, 3);
        // Rows written before titles existed carry the title their description gives.
        assert_eq!(rewritten[0].title, "rewritten");
        assert!(
            tasks
                .values()
                .filter(|task| task.description != "rewritten")
                .all(|task| task.title == task.description && task.jira_id.is_empty())
        );
        assert!(tasks.values().all(|task| {
            (1_000..=2_000).contains(&task.fee_cents)
                && (2_000..=4_000).contains(&task.reward_cents)
                && task.created_at.is_some()
        }));
    }
    assert_eq!(
        world
            .count("SELECT count(*) AS n FROM snapshot_jobs WHERE finished_at IS NOT NULL")
            .await,
        2,
        "one job per request, not per delivery"
    );
}
