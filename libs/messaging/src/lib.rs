//! Event delivery for aTES: nothing lost, nothing applied twice.
//!
//! - [`Outbox`]: a service records events in the same database transaction as the change that
//!   caused them.
//! - [`Relay`]: publishes recorded events with publisher confirms and the mandatory flag, and marks
//!   them published only after the broker confirmed them. At least once.
//! - [`Consumer`]: applies each event id at most once (the inbox), in the same transaction as its
//!   effect, and acks only after the commit. Together with the relay: exactly once in effect.
//! - [`Topology`]: the exchanges, quorum queues and dead-letter queues, declared idempotently.
//!
//! A message that can never be processed (undecodable, an unknown type or schema version, a
//! handler that keeps failing) is parked in its queue's dead-letter queue with the reason in the
//! `x-ates-dead-letter-reason` header; the messages behind it keep flowing.

mod amqp;
mod consumer;
pub mod dead_letters;
mod migrate;
mod outbox;
mod relay;
mod retention;
mod schema;
mod topology;

pub use amqp::{AmqpSettings, Backoff};
pub use consumer::{
    Consumer, ConsumerConfig, ConsumerStats, DEAD_LETTER_REASON_HEADER, Handler, HandlerError,
    ReceivedEvent,
};
pub use migrate::{MigrationError, ensure_distinct_versions, migrate};
pub use outbox::{Outbox, OutboxError};
pub use relay::{Relay, RelayConfig, RelayError};
pub use retention::{
    INBOX_TABLE, INBOX_TIME_COLUMN, PRUNE_BATCH, PruneError, cutoff, prune_before,
};
pub use topology::{DELIVERY_LIMIT, Topology};

/// The connection pool every aTES service uses.
pub type DbPool = diesel_async::pooled_connection::deadpool::Pool<diesel_async::AsyncPgConnection>;

/// The outbox and inbox tables. Every service runs these before its own migrations.
pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

/// The content type of aTES messages: an encoded `ates.events.v1.EventEnvelope`.
pub const CONTENT_TYPE: &str = "application/vnd.ates.event-envelope+protobuf";
