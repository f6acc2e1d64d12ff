//! Every event accounting received during a business day, published again byte for byte (same
//! body, same properties) into accounting's queues, twice and in reverse order, changes nothing.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_contracts::routing::{self, Service};
use ates_messaging::Topology;
use ates_testkit::ConfirmedChannel;
use lapin::BasicProperties;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use system::System;
use system::day::{self, Day};

#[tokio::test(flavor = "multi_thread")]
async fn events_published_again_byte_for_byte_into_accountings_queues_change_nothing() {
    let seed = day::seed(20_261_127);
    let system = System::start().await;
    let topology = Topology::new(system.broker.prefix());
    let producer = ConfirmedChannel::open(&system.broker).await.unwrap();
    let channel = producer.channel();

    // A tap beside each of accounting's queues, bound the same way, keeps a copy of every
    // message accounting gets.
    let subscriptions = routing::subscriptions_of(Service::Accounting);
    let mut taps = Vec::new();
    for subscription in &subscriptions {
        let tap = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .name()
            .to_string();
        for event_type in &subscription.event_types {
            channel
                .queue_bind(
                    tap.clone().into(),
                    topology.exchange(subscription.exchange).into(),
                    (*event_type).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
        }
        taps.push((topology.queue(subscription), tap));
    }

    let mut day = Day::begin(&system, seed).await;
    for _ in 0..150 {
        day.step().await;
    }
    day.settle_and_check(&system, Duration::from_secs(60)).await;

    // Publish everything again, byte for byte: newest first, each twice.
    let mut republished = 0;
    for (queue, tap) in &taps {
        let mut copies: Vec<(Vec<u8>, BasicProperties)> = Vec::new();
        while let Some(message) = channel
            .basic_get(tap.clone().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            copies.push((message.delivery.data, message.delivery.properties));
        }
        for (body, properties) in copies.iter().rev().flat_map(|copy| [copy, copy]) {
            // The default exchange routes by queue name: straight into accounting's queue.
            producer.publish("", queue, body, properties.clone()).await;
            republished += 1;
        }
    }
    eprintln!("seed {seed}: {republished} messages published again");
    assert!(
        republished >= 200,
        "seed {seed}: too few events to prove anything"
    );

    // More of the day after the copies, with at least one new event in each of accounting's
    // tracker queues (a creation and a reshuffle on the lifecycle queue, a description rewrite on
    // the tasks queue): accounting consumes each queue in order with one session, so once these
    // show in the books and statements, every copy before them has been consumed too.
    day.act(day::CREATE).await;
    day.act(day::RESHUFFLE).await;
    day.act(day::REWRITE).await;
    for _ in 0..20 {
        day.step().await;
    }
    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(60)).await;
    system.assert_no_dead_letters(seed).await;
}
