//! Event delivery for aTES: nothing lost, nothing applied twice.
//!
//! - [`Outbox`]: a service records events with a [`Recorder`] inside [`Outbox::transaction`],
//!   in the same database transaction as the change that caused them; the relay is woken after
//!   the commit.
//! - [`Relay`]: publishes recorded events with publisher confirms and the mandatory flag, and
//!   deletes them only after the broker confirmed them. At least once.
//! - [`Consumer`]: applies each event id at most once (the inbox), in the same transaction as its
//!   effect, and acks only after the commit. Together with the relay: exactly once in effect.
//! - [`Handler`]: what a service implements to consume: the typed event versions it reads
//!   ([`Reads`]) and how a batch of them is written. [`bind_handlers`] checks a service's handlers
//!   against the routing table.
//! - [`Topology`]: the exchanges, quorum queues and dead-letter queues, declared idempotently.
//! - [`snapshot`]: a producer's answer to a resync request: its current state, sent again as
//!   snapshot events through its outbox.
//!
//! A message that can never be processed (undecodable, an unknown type or schema version, a
//! handler that keeps failing) is parked in its queue's dead-letter queue with the reason in the
//! `x-ates-dead-letter-reason` header; the messages behind it keep flowing.

mod amqp;
mod batch;
mod consumer;
pub mod dead_letters;
mod envelope;
mod handler;
mod metrics;
mod migrate;
mod outbox;
mod publish;
mod relay;
mod retention;
mod schema;
mod session;
pub mod snapshot;
mod topology;

pub use amqp::{AmqpSettings, Backoff};
pub use ates_storage::DbPool;
pub use consumer::{Consumer, ConsumerConfig, ConsumerStats, DEAD_LETTER_REASON_HEADER};
pub use envelope::{Cause, Received};
pub use handler::{
    Accepts, Bound, Handler, HandlerError, InboundEvent, QueueHandler, Reads, RoutingMismatch,
    bind_handlers, field_uuid, subscriber,
};
pub use migrate::{MigrationError, migrate};
pub use outbox::{Outbox, OutboxError, Recorder, TransactionWork};
pub use relay::{Relay, RelayConfig, RelayError};
pub use retention::{INBOX_TABLE, INBOX_TIME_COLUMN};
pub use topology::{DELIVERY_LIMIT, Topology};

/// The outbox and inbox tables. Every service runs these before its own migrations.
pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

/// The content type of aTES messages: an encoded `ates.events.v1.EventEnvelope`.
pub const CONTENT_TYPE: &str = "application/vnd.ates.event-envelope+protobuf";
