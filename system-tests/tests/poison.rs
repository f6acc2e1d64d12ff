//! Garbage and unknown schema versions published into every consumer queue of the running
//! system end in that queue's dead-letter queue with their reason, and the money still flows.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_contracts::routing::{self, Service};
use ates_messaging::{DEAD_LETTER_REASON_HEADER, Topology};
use ates_testkit::ConfirmedChannel;
use lapin::BasicProperties;
use lapin::options::BasicGetOptions;
use system::{ADMIN_BEAK, System, signed};

#[tokio::test(flavor = "multi_thread")]
async fn poison_in_every_consumer_queue_is_parked_with_its_reason_and_money_still_flows() {
    let system = System::start().await;
    let topology = Topology::new(system.broker.prefix());
    let producer = ConfirmedChannel::open(&system.broker).await.unwrap();
    let channel = producer.channel();

    let queues: Vec<String> = [Service::Auth, Service::Tracker, Service::Accounting]
        .into_iter()
        .flat_map(routing::subscriptions_of)
        .map(|subscription| topology.queue(&subscription))
        .collect();
    assert_eq!(
        queues.len(),
        8,
        "each one's resync queue, tracker's and accounting's accounts queues, accounting's three money queues"
    );
    for queue in &queues {
        for body in ates_testkit::poison() {
            // The default exchange routes by queue name: straight into the consumer's queue.
            producer
                .publish("", queue, &body, BasicProperties::default())
                .await;
        }
    }
    for queue in &queues {
        let dead_letters = topology.dead_letter_queue(queue);
        let mut reasons = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while reasons.len() < 2 && tokio::time::Instant::now() < deadline {
            match channel
                .basic_get(
                    dead_letters.clone().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap()
            {
                Some(message) => {
                    let headers = message
                        .delivery
                        .properties
                        .headers()
                        .clone()
                        .unwrap_or_default();
                    reasons.push(match headers.inner().get(DEAD_LETTER_REASON_HEADER) {
                        Some(lapin::types::AMQPValue::LongString(reason)) => reason.to_string(),
                        other => format!("no reason header: {other:?}"),
                    });
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        reasons.sort();
        assert_eq!(reasons.len(), 2, "{queue}: {reasons:?}");
        assert!(
            reasons[0].contains("envelope does not decode"),
            "{queue}: {reasons:?}"
        );
        assert!(
            reasons[1].contains("unknown event type or schema version"),
            "{queue}: {reasons:?}"
        );
    }

    // The flow still works: a worker is created, gets a task, completes it, and is paid its due.
    let (worker, token) = system.new_worker("after@uberpopug.test").await;
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    let mut tracker_client = system.tracker().await;
    let task = system
        .create_task_once_assignable(&admin, "after the poison")
        .await;
    assert_eq!(task.assignee_id, worker);
    tracker_client
        .complete_task(signed(
            tracker::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap();
    let expected = task.reward_cents - task.fee_cents;
    let mut accounting_client = system.accounting().await;
    let mut closing = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        if let Ok(statement) = accounting_client
            .get_statement(signed(
                accounting::GetStatementRequest {
                    account_id: worker.clone(),
                    ..Default::default()
                },
                &token,
            ))
            .await
        {
            closing = Some(statement.into_inner().closing_balance_cents);
            if closing == Some(expected) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(closing, Some(expected));
}
