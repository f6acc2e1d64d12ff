//! Publishing with publisher confirms: the one way relay, consumers (parking) and the
//! dead-letter tools hand a message to the broker.

use futures::future::join_all;
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel, Confirmation};

/// One message to publish with the `mandatory` flag, so that an unroutable one comes back.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    /// The exchange, as deployed (`""` is the default exchange, which routes by queue name).
    pub exchange: String,
    /// The routing key.
    pub routing_key: String,
    /// The body.
    pub body: &'a [u8],
    /// The AMQP properties.
    pub properties: BasicProperties,
}

/// Publishes every message before awaiting any confirm (a batch costs one round trip), and
/// answers per message: `Ok` when the broker confirmed it, `Err` with why when the broker
/// returned it (unroutable) or nacked it. A broker or channel failure fails the whole call.
/// `channel` must be in confirm mode.
pub(crate) async fn publish_confirmed(
    channel: &Channel,
    messages: impl IntoIterator<Item = Outgoing<'_>>,
) -> Result<Vec<Result<(), String>>, lapin::Error> {
    // All publishes are issued together (each one's first poll queues its frames in order), so
    // the batch does not wait for the connection's I/O loop once per message.
    let publishes = messages.into_iter().map(|message| {
        channel.basic_publish(
            message.exchange.into(),
            message.routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            message.body,
            message.properties,
        )
    });
    let confirms = futures::future::try_join_all(publishes).await?;
    join_all(confirms)
        .await
        .into_iter()
        .map(|confirmation| {
            Ok(match confirmation? {
                Confirmation::Ack(None) => Ok(()),
                Confirmation::Ack(Some(returned)) => Err(format!(
                    "unroutable: {} {}",
                    returned.reply_code, returned.reply_text
                )),
                Confirmation::Nack(_) => Err("nacked by the broker".to_owned()),
                Confirmation::NotRequested => Err("channel is not in confirm mode".to_owned()),
            })
        })
        .collect()
}

/// [`publish_confirmed`] for one message.
pub(crate) async fn publish_one_confirmed(
    channel: &Channel,
    message: Outgoing<'_>,
) -> Result<Result<(), String>, lapin::Error> {
    let mut answers = publish_confirmed(channel, [message]).await?;
    Ok(answers
        .pop()
        .unwrap_or_else(|| Err("the broker gave no answer".to_owned())))
}
