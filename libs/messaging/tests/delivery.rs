//! Event delivery against real PostgreSQL and RabbitMQ: nothing lost, nothing applied twice.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ates_contracts::ates::events::v1::EventEnvelope;
use ates_messaging::{ConsumerConfig, ConsumerStats, DEAD_LETTER_REASON_HEADER};
use ates_testkit::{PrivateBroker, TestBroker};
use lapin::BasicProperties;
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use prost::Message as _;
use support::{Harness, POISON_REWARD_CENTS, TIMEOUT, completion};

#[tokio::test(flavor = "multi_thread")]
async fn an_event_recorded_in_a_rolled_back_transaction_is_never_published() {
    let harness = Harness::new().await;
    let mut conn = harness.pool.get().await.unwrap();
    let rolled_back = harness
        .outbox
        .transaction(&mut conn, async |conn, events| {
            events
                .record(
                    conn,
                    &completion("rolled-back", 2500),
                    chrono::Utc::now(),
                    ates_messaging::Cause::current(),
                )
                .await
                .unwrap();
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(rolled_back.is_err());
    drop(conn);
    harness.record_committed("committed", 2500).await;
    assert_eq!(
        harness
            .count("SELECT count(*) AS n FROM outbox_events")
            .await,
        1,
        "only the committed event is in the outbox"
    );
    harness.start_relay();
    let stats = harness.start_consumer();

    harness.wait_for_effects("committed", 1).await;
    let drained = ates_testkit::eventually(TIMEOUT, || async {
        (harness
            .count("SELECT count(*) AS n FROM outbox_events")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert!(drained.is_some(), "the relay empties the outbox");
    assert_eq!(harness.effects_of("rolled-back").await, 0);
    assert_eq!(ConsumerStats::get(&stats.applied), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_committed_while_the_broker_is_down_is_published_when_it_returns() {
    let mut broker = PrivateBroker::start().await.unwrap();
    let harness = Harness::with_broker_url(TestBroker::shared(), broker.url()).await;
    harness.start_relay();
    harness.start_consumer();
    harness.record_committed("before-outage", 2000).await;
    harness.wait_for_effects("before-outage", 1).await;

    broker.stop().await;
    harness.record_committed("during-outage", 3000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        harness
            .count("SELECT count(*) AS n FROM outbox_events")
            .await,
        1,
        "the event waits in the outbox while the broker is down"
    );

    broker.restart().await.unwrap();
    harness.wait_for_effects("during-outage", 1).await;
    assert_eq!(
        harness
            .count("SELECT count(*) AS n FROM outbox_events")
            .await,
        0
    );
    assert_eq!(harness.effects_of("during-outage").await, 1);
    assert_eq!(harness.effects_of("before-outage").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_dying_between_confirm_and_mark_publishes_twice_and_the_consumer_applies_once() {
    let harness = Harness::new().await;
    harness.record_committed("twice-published", 2200).await;

    let relay = harness.relay();
    let (connection, channel) = relay.open_channel_for_test().await.unwrap();
    relay
        .publish_pending_then_crash_before_marking(&channel)
        .await
        .unwrap();
    assert_eq!(
        harness
            .count("SELECT count(*) AS n FROM outbox_events")
            .await,
        1,
        "the broker confirmed the event but the relay died before marking it"
    );
    connection.close(200, "relay died".into()).await.unwrap();

    // A relay that starts again publishes the unmarked row a second time.
    harness.start_relay();
    let stats = harness.start_consumer();
    let settled = ates_testkit::eventually(TIMEOUT, || async {
        (ConsumerStats::get(&stats.applied) + ConsumerStats::get(&stats.already_applied) >= 2)
            .then_some(())
    })
    .await;
    assert!(settled.is_some(), "both deliveries reach the consumer");
    assert_eq!(ConsumerStats::get(&stats.applied), 1);
    assert_eq!(ConsumerStats::get(&stats.already_applied), 1);
    assert_eq!(harness.effects_of("twice-published").await, 1);
    assert_eq!(
        harness
            .count("SELECT count(*) AS n FROM inbox_events")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_dying_between_commit_and_ack_gets_a_redelivery_and_the_effect_happens_once() {
    let harness = Harness::new().await;
    harness.start_relay();
    harness.record_committed("redelivered", 2700).await;

    let crashing = harness.consumer(ConsumerConfig {
        crash_after_first_commit: true,
        sessions: 1,
        ..support::fast_retries()
    });
    let crashed_stats = crashing.stats();
    tokio::time::timeout(TIMEOUT, crashing.run(harness.shutdown.clone()))
        .await
        .expect("the consumer crashes");
    assert_eq!(
        harness.effects_of("redelivered").await,
        1,
        "the crashing consumer committed the effect"
    );
    assert_eq!(
        ConsumerStats::get(&crashed_stats.applied),
        0,
        "it never acked"
    );

    let stats = harness.start_consumer();
    let settled = ates_testkit::eventually(TIMEOUT, || async {
        (ConsumerStats::get(&stats.already_applied) >= 1).then_some(())
    })
    .await;
    assert!(settled.is_some(), "the unacked message is delivered again");
    assert_eq!(ConsumerStats::get(&stats.applied), 0);
    assert_eq!(harness.effects_of("redelivered").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_message_is_parked_with_its_reason_and_the_messages_after_it_are_applied() {
    let harness = Harness::new().await;
    harness.start_relay();
    let stats = harness.start_consumer();
    harness
        .record_committed("poison", POISON_REWARD_CENTS)
        .await;
    for index in 0..20 {
        harness
            .record_committed(&format!("after-poison-{index}"), 2000 + index)
            .await;
    }
    for index in 0..20 {
        harness
            .wait_for_effects(&format!("after-poison-{index}"), 1)
            .await;
    }
    let parked = wait_for_dead_letter(&harness).await;
    let reason = dead_letter_reason(&parked);
    assert!(
        reason.contains("handler failed 5 times"),
        "reason: {reason}"
    );
    assert!(reason.contains("always fails"), "reason: {reason}");
    let envelope = EventEnvelope::decode(parked.data.as_slice()).unwrap();
    assert_eq!(envelope.event_type, "ates.tracker.events.v1.TaskCompleted");
    assert_eq!(ConsumerStats::get(&stats.parked), 1);
    assert_eq!(ConsumerStats::get(&stats.retried), 4);
    assert_eq!(harness.effects_of("poison").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_database_condition_is_retried_past_the_attempt_limit_and_never_parked() {
    let harness = Harness::new().await;
    harness.start_relay();
    let stats = harness.start_consumer();
    harness
        .record_committed("contended", support::CONTENDED_REWARD_CENTS)
        .await;
    harness.wait_for_effects("contended", 1).await;
    assert!(support::TRANSIENT_FAILURES > support::fast_retries().max_attempts);
    assert_eq!(ConsumerStats::get(&stats.parked), 0);
    assert_eq!(ConsumerStats::get(&stats.applied), 1);
    assert_eq!(harness.effects_of("contended").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_types_versions_and_garbage_are_parked_and_the_consumer_keeps_running() {
    let harness = Harness::new().await;
    harness.start_relay();
    let stats = harness.start_consumer();
    let connection = harness.broker.connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    harness.amqp.topology.declare_all(&channel).await.unwrap();
    let exchange = harness
        .amqp
        .topology
        .exchange(ates_contracts::routing::TRACKER_TASK_LIFECYCLE);
    let routing_key = "ates.tracker.events.v1.TaskCompleted";

    let future_version = EventEnvelope {
        event_id: uuid::Uuid::new_v4().to_string(),
        event_type: "ates.tracker.events.v9.TaskCompleted".to_owned(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        producer: "tracker-svc".to_owned(),
        payload: vec![1, 2, 3],
        ..EventEnvelope::default()
    };
    for body in [
        future_version.encode_to_vec(),
        b"\xff\xfenot protobuf at all".to_vec(),
    ] {
        channel
            .basic_publish(
                exchange.clone().into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    harness.record_committed("after-garbage", 2100).await;
    harness.wait_for_effects("after-garbage", 1).await;

    let mut reasons = vec![dead_letter_reason(&wait_for_dead_letter(&harness).await)];
    reasons.push(dead_letter_reason(&wait_for_dead_letter(&harness).await));
    reasons.sort();
    assert!(
        reasons[0].contains("envelope does not decode"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains(
            "unknown event type or schema version `ates.tracker.events.v9.TaskCompleted`"
        ),
        "{reasons:?}"
    );
    assert_eq!(ConsumerStats::get(&stats.parked), 2);
    assert_eq!(ConsumerStats::get(&stats.applied), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn producer_and_consumer_see_one_trace_id() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);
    // The relay and consumer run on other threads: make the subscriber global for them too.
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test"))),
    );

    let harness = Harness::new().await;
    harness.start_relay();
    harness.start_consumer();
    let producer_trace_id = {
        let span = tracing::info_span!("create task");
        let _entered = span.enter();
        let trace_id = ates_telemetry::current_trace_id().expect("the producer is traced");
        let mut conn = harness.pool.get().await.unwrap();
        harness
            .outbox
            .transaction(&mut conn, async |conn, events| {
                events
                    .record(
                        conn,
                        &completion("traced", 2400),
                        chrono::Utc::now(),
                        ates_messaging::Cause::current(),
                    )
                    .await
            })
            .await
            .unwrap();
        trace_id
    };
    harness.wait_for_effects("traced", 1).await;

    #[derive(diesel::QueryableByName)]
    struct TraceId {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        trace_id: Option<String>,
    }
    let mut conn = harness.pool.get().await.unwrap();
    let consumer_trace_id: TraceId = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT trace_id FROM test_effects WHERE task_id = 'traced'"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(
        consumer_trace_id.trace_id.as_deref(),
        Some(producer_trace_id.as_str())
    );
}

async fn wait_for_dead_letter(harness: &Harness) -> lapin::message::BasicGetMessage {
    let connection = harness.broker.connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let dead_letter_queue = harness.amqp.topology.dead_letter_queue(&harness.queue());
    let message = ates_testkit::eventually(TIMEOUT, || async {
        channel
            .basic_get(
                dead_letter_queue.clone().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
    })
    .await;
    message.expect("a message lands in the dead-letter queue")
}

fn dead_letter_reason(message: &lapin::message::BasicGetMessage) -> String {
    let headers = message
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    match headers.inner().get(DEAD_LETTER_REASON_HEADER) {
        Some(lapin::types::AMQPValue::LongString(reason)) => reason.to_string(),
        other => panic!("no reason header: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn parked_messages_are_listed_with_their_reasons_and_replayed_after_the_fix() {
    use ates_messaging::dead_letters;

    let harness = Harness::new().await;
    harness.start_relay();
    harness.start_consumer();
    let queue = support::subscription().queue();
    let connection = harness.broker.connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    let topology = &harness.amqp.topology;
    topology.declare_all(&channel).await.unwrap();

    // A bug refuses one event; garbage can never be processed.
    let refused = harness
        .record_committed("refused", support::REFUSED_UNTIL_FIXED_REWARD_CENTS)
        .await;
    channel
        .basic_publish(
            "".into(),
            harness.queue().into(),
            BasicPublishOptions::default(),
            b"\x00garbage",
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let listed = ates_testkit::eventually(TIMEOUT, || async {
        let listed = dead_letters::list(&channel, topology, &queue)
            .await
            .unwrap();
        (listed.len() == 2).then_some(listed)
    })
    .await
    .expect("both land in the dead-letter queue");
    let mine = listed
        .iter()
        .find(|parked| parked.event_id == refused.to_string())
        .expect("the refused event is listed by its id");
    assert_eq!(mine.event_type, "ates.tracker.events.v1.TaskCompleted");
    assert!(mine.reason.contains("until it is fixed"), "{mine:?}");
    let garbage = listed
        .iter()
        .find(|parked| parked.event_id.is_empty())
        .unwrap();
    assert!(
        !garbage.reason.is_empty() && garbage.size == 8,
        "{garbage:?}"
    );
    // Listing is not consuming: the same messages, in the same order, are still there.
    assert_eq!(
        dead_letters::list(&channel, topology, &queue)
            .await
            .unwrap(),
        listed
    );

    // The fix is deployed; everything goes back. The event is applied once; the garbage is
    // parked again with its reason.
    support::FIXED.store(true, std::sync::atomic::Ordering::SeqCst);
    let moved = dead_letters::replay(&channel, topology, &queue, None)
        .await
        .unwrap();
    assert_eq!(moved.len(), 2);
    harness.wait_for_effects("refused", 1).await;
    let left = ates_testkit::eventually(TIMEOUT, || async {
        let left = dead_letters::list(&channel, topology, &queue)
            .await
            .unwrap();
        (left.len() == 1 && left[0].event_id.is_empty()).then_some(left)
    })
    .await;
    assert!(left.is_some(), "only the garbage is parked again");
    assert_eq!(harness.effects_of("refused").await, 1);

    let unknown = dead_letters::list(&channel, topology, "no.such.queue")
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains(&queue),
        "the error lists the known queues: {unknown}"
    );
    // Replaying towards a consumer queue that does not exist moves nothing (the broker would
    // return every copy as unroutable): refused before the first message is touched.
    let elsewhere = ates_messaging::Topology::new(format!("{}absent.", topology.prefix()));
    let absent = dead_letters::replay(&channel, &elsewhere, &queue, None)
        .await
        .unwrap_err();
    assert!(absent.to_string().contains("NOT_FOUND"), "{absent}");
}
