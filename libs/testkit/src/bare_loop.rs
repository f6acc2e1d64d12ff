//! The baseline every event benchmark is measured against: RabbitMQ alone, durably.

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Confirmation};

use crate::TestBroker;

/// Pushes `bodies` through a durable quorum queue of its own: publishes with confirms (windows of
/// 1,000 issued together, like the relay), consumes with a manual ack per message (prefetch 256),
/// and returns the time from the first publish to the last ack.
pub async fn bare_broker_loop(broker: &TestBroker, bodies: &[Vec<u8>]) -> anyhow::Result<Duration> {
    let queue = format!("{}bare-loop-{}", broker.prefix(), crate::unique_suffix());
    let connection = broker.connect().await?;
    let publish_channel = connection.create_channel().await?;
    publish_channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    publish_channel
        .queue_declare(
            queue.clone().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    let consume_connection = broker.connect().await?;
    let consume_channel = consume_connection.create_channel().await?;
    consume_channel
        .basic_qos(256, BasicQosOptions::default())
        .await?;
    let mut consumer = consume_channel
        .basic_consume(
            queue.clone().into(),
            "bare".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let total = bodies.len();
    let started = Instant::now();
    let consuming = tokio::spawn(async move {
        let mut acked = 0;
        while acked < total {
            let Some(delivery) = consumer.next().await else {
                anyhow::bail!("the consumer stopped")
            };
            delivery?.acker.ack(BasicAckOptions::default()).await?;
            acked += 1;
        }
        Ok(())
    });
    for window in bodies.chunks(1_000) {
        let publishes = window.iter().map(|body| {
            publish_channel.basic_publish(
                "".into(),
                queue.clone().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
        });
        let confirms = futures::future::try_join_all(publishes).await?;
        for confirm in futures::future::join_all(confirms).await {
            anyhow::ensure!(
                matches!(confirm?, Confirmation::Ack(None)),
                "the broker did not confirm a publish"
            );
        }
    }
    consuming.await??;
    let elapsed = started.elapsed();
    publish_channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await?;
    Ok(elapsed)
}
