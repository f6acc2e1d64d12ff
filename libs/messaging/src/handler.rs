//! The handler contract: a handler registers the event types it reads, one line per type and
//! schema version; the library decodes each delivery once and hands the handler typed events.
//!
//! A handler works in two steps. [`Reads::read`] takes one decoded event into the batch, without
//! I/O (converting proto fields into domain values, refusing what can never be applied).
//! [`Handler::apply`] then writes what the batch gathered, in the consumer's transaction, which
//! also holds the inbox rows of those events and any events the handler records. A batch is one
//! event or many: the consumer reads as many deliveries as it has at hand into one batch, and when
//! that fails it applies them again one by one, so that only the failing one is retried or parked.

use std::collections::BTreeSet;
use std::sync::Arc;

use ates_contracts::routing::{self, Service, Subscription};
use ates_storage::DbError;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;

use crate::envelope::{Cause, RawEvent, Received};
use crate::outbox::Recorder;

/// A UUID field of an event, or a rejection naming it.
pub fn field_uuid(field: &str, raw: &str) -> Result<uuid::Uuid, HandlerError> {
    uuid::Uuid::parse_str(raw)
        .map_err(|_| HandlerError::Rejected(format!("{field} `{raw}` is not a UUID")))
}

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event can never be applied (bad data, a broken rule): it is parked at once.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Applying failed but may succeed later: the event is retried, and parked after
    /// `ConsumerConfig::max_attempts` deliveries.
    #[error("failed: {0}")]
    Failed(String),
    /// The database could not apply it now (a lost connection, a serialization failure, a
    /// deadlock with a parallel session): the whole batch is applied again after a pause, and
    /// this does not count as an attempt. Money events must never be parked for contention.
    #[error("transient: {0}")]
    Transient(String),
}

impl From<DbError> for HandlerError {
    fn from(error: DbError) -> Self {
        if error.is_retryable() {
            HandlerError::Transient(error.to_string())
        } else {
            HandlerError::Failed(error.to_string())
        }
    }
}

impl From<diesel::result::Error> for HandlerError {
    fn from(error: diesel::result::Error) -> Self {
        DbError::from(error).into()
    }
}

/// Applies the events of one or more queues of a service.
pub trait Handler: Send + Sync + Sized + 'static {
    /// What the events of a batch carry, gathered by [`Reads::read`] before anything is written.
    type Batch: Default + Send;

    /// Registers every event type, with its schema version, that this handler reads:
    /// `accepts.on::<v1::TaskAdded>().on::<v2::TaskAdded>();`. Any other type is parked.
    fn accepts(accepts: &mut Accepts<Self>);

    /// Writes what a batch gathered, inside the consumer's transaction: everything written
    /// through `conn` and every event recorded with `events` commits together with the inbox
    /// rows of the batch, or not at all.
    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a Recorder,
        batch: Self::Batch,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// Reading one event type into a handler's batch.
pub trait Reads<E>: Handler {
    /// Takes `event` into `batch`, or refuses it ([`HandlerError::Rejected`] for good).
    fn read(&self, batch: &mut Self::Batch, event: Received<E>) -> Result<(), HandlerError>;
}

type Reader<H> = fn(&H, &mut <H as Handler>::Batch, &RawEvent, Cause) -> Result<(), HandlerError>;

/// The event types a handler reads, each with the function that decodes and reads it.
pub struct Accepts<H: Handler> {
    readers: Vec<(String, Reader<H>)>,
}

impl<H: Handler> std::fmt::Debug for Accepts<H> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let types: Vec<&str> = self.readers.iter().map(|(name, _)| name.as_str()).collect();
        formatter
            .debug_struct("Accepts")
            .field("types", &types)
            .finish()
    }
}

impl<H: Handler> Accepts<H> {
    /// The handler reads `E` (one type at one schema version).
    pub fn on<E>(&mut self) -> &mut Self
    where
        E: prost::Message + prost::Name + Default + 'static,
        H: Reads<E>,
    {
        self.readers.push((E::full_name(), read_one::<H, E>));
        self
    }
}

fn read_one<H, E>(
    handler: &H,
    batch: &mut H::Batch,
    raw: &RawEvent,
    cause: Cause,
) -> Result<(), HandlerError>
where
    H: Reads<E>,
    E: prost::Message + Default,
{
    let message = raw.decode::<E>()?;
    handler.read(
        batch,
        Received {
            event_id: raw.event_id,
            occurred_at: raw.occurred_at,
            producer: raw.producer.clone(),
            message,
            cause,
        },
    )
}

/// One new event of a batch as the consumer hands it over: the delivery, the span it is applied
/// in (a child of the producer's span) and its cause. Only events not applied before get one, so
/// a redelivery leaves no span behind.
#[derive(Debug)]
pub struct InboundEvent<'a> {
    pub(crate) raw: &'a RawEvent,
    pub(crate) span: tracing::Span,
    pub(crate) cause: Cause,
}

impl<'a> InboundEvent<'a> {
    pub(crate) fn new(raw: &'a RawEvent, queue: &str) -> Self {
        let span = raw.span(queue);
        let cause = raw.cause_within(&span);
        Self { raw, span, cause }
    }
}

/// A handler as a consumer drives it, whatever its batch type. Built with [`subscriber`].
pub trait QueueHandler: Send + Sync + 'static {
    /// The handler's name, for logs (`tracker_svc::events::inbound::AccountsHandler`).
    fn name(&self) -> &'static str;

    /// Every event type it reads.
    fn event_types(&self) -> Vec<String>;

    /// Whether it reads `event_type`.
    fn reads(&self, event_type: &str) -> bool;

    /// Reads `events` into one batch (each inside its span) and applies it.
    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        recorder: &'a Recorder,
        events: &'a [InboundEvent<'a>],
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

impl std::fmt::Debug for dyn QueueHandler {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("QueueHandler")
            .field("name", &self.name())
            .field("event_types", &self.event_types())
            .finish()
    }
}

struct Subscriber<H: Handler> {
    handler: H,
    readers: Vec<(String, Reader<H>)>,
}

/// `handler` with the types it registered, ready for a consumer.
pub fn subscriber<H: Handler>(handler: H) -> Arc<dyn QueueHandler> {
    let mut accepts = Accepts {
        readers: Vec::new(),
    };
    H::accepts(&mut accepts);
    Arc::new(Subscriber {
        handler,
        readers: accepts.readers,
    })
}

impl<H: Handler> QueueHandler for Subscriber<H> {
    fn name(&self) -> &'static str {
        std::any::type_name::<H>()
    }

    fn event_types(&self) -> Vec<String> {
        self.readers.iter().map(|(name, _)| name.clone()).collect()
    }

    fn reads(&self, event_type: &str) -> bool {
        self.readers.iter().any(|(name, _)| name == event_type)
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        recorder: &'a Recorder,
        events: &'a [InboundEvent<'a>],
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mut batch = H::Batch::default();
            for event in events {
                let reader = self
                    .readers
                    .iter()
                    .find(|(name, _)| *name == event.raw.event_type)
                    .map(|(_, reader)| *reader)
                    .ok_or_else(|| {
                        HandlerError::Rejected(format!(
                            "{} does not read {}",
                            self.name(),
                            event.raw.event_type
                        ))
                    })?;
                event.span.in_scope(|| {
                    reader(&self.handler, &mut batch, event.raw, event.cause.clone())
                })?;
            }
            self.handler.apply(conn, recorder, batch).await
        })
    }
}

/// The handlers of a service and the routing table disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service}'s handlers disagree with the routing table: {problems:?}")]
pub struct RoutingMismatch {
    /// The service.
    pub service: &'static str,
    /// Each disagreement, in words.
    pub problems: Vec<String>,
}

/// A queue and the handler that reads it.
pub type Bound = (Subscription, Arc<dyn QueueHandler>);

/// Pairs each queue the routing table gives `service` with the one handler that reads all of its
/// event types. Fails, listing every problem, when a handler reads a type the table does not
/// route to `service`, when a queue's type has no handler, or when two handlers read one type.
pub fn bind_handlers(
    service: Service,
    handlers: &[Arc<dyn QueueHandler>],
) -> Result<Vec<Bound>, RoutingMismatch> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for handler in handlers {
        let mut own = BTreeSet::new();
        for event_type in handler.event_types() {
            if !own.insert(event_type.clone()) {
                problems.push(format!("{} registers {event_type} twice", handler.name()));
                continue;
            }
            let routed_here = routing::route_of(&event_type)
                .is_some_and(|route| route.consumers.contains(&service));
            if !routed_here {
                problems.push(format!(
                    "{} reads {event_type}, which the routing table does not route to {}",
                    handler.name(),
                    service.binary_name()
                ));
            }
            if !seen.insert(event_type.clone()) {
                problems.push(format!("{event_type} is read by more than one handler"));
            }
        }
    }
    let mut bound = Vec::new();
    for subscription in routing::subscriptions_of(service) {
        let reader = handlers.iter().find(|handler| {
            subscription
                .event_types
                .iter()
                .any(|event_type| handler.reads(event_type))
        });
        let Some(reader) = reader else {
            problems.push(format!(
                "no handler reads queue {} ({})",
                subscription.queue(),
                subscription.event_types.join(", ")
            ));
            continue;
        };
        for event_type in &subscription.event_types {
            if !reader.reads(event_type) {
                problems.push(format!(
                    "{} reads queue {} but not its {event_type}",
                    reader.name(),
                    subscription.queue()
                ));
            }
        }
        bound.push((subscription, Arc::clone(reader)));
    }
    if problems.is_empty() {
        Ok(bound)
    } else {
        Err(RoutingMismatch {
            service: service.binary_name(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use ates_contracts::ates::auth::events::v1 as auth;
    use ates_contracts::ates::tracker::events::v1 as tracker;

    use super::*;

    /// Which types a test handler says it reads.
    trait Claim: Send + Sync + Sized + 'static {
        fn claim(accepts: &mut Accepts<Claiming<Self>>);
    }

    /// A handler that reads what its claim says and writes nothing.
    struct Claiming<C>(std::marker::PhantomData<C>);

    fn claiming<C: Claim>() -> Arc<dyn QueueHandler> {
        subscriber(Claiming::<C>(std::marker::PhantomData))
    }

    impl<C: Claim> Handler for Claiming<C> {
        type Batch = ();

        fn accepts(accepts: &mut Accepts<Self>) {
            C::claim(accepts);
        }

        fn apply<'a>(
            &'a self,
            _conn: &'a mut AsyncPgConnection,
            _events: &'a Recorder,
            _batch: (),
        ) -> BoxFuture<'a, Result<(), HandlerError>> {
            Box::pin(async { Ok(()) })
        }
    }

    impl<C: Claim, E> Reads<E> for Claiming<C> {
        fn read(&self, _batch: &mut (), _event: Received<E>) -> Result<(), HandlerError> {
            Ok(())
        }
    }

    /// The tracker's accounts queue, and TaskCompleted on top.
    struct Overreaching;

    impl Claim for Overreaching {
        fn claim(accepts: &mut Accepts<Claiming<Self>>) {
            accepts
                .on::<auth::AccountCreated>()
                .on::<auth::AccountRoleChanged>()
                .on::<tracker::TaskCompleted>();
        }
    }

    /// The tracker's accounts queue without AccountRoleChanged.
    struct Forgetful;

    impl Claim for Forgetful {
        fn claim(accepts: &mut Accepts<Claiming<Self>>) {
            accepts.on::<auth::AccountCreated>();
        }
    }

    #[test]
    fn a_handler_reading_a_type_not_routed_to_its_service_is_refused_naming_it() {
        let mismatch = bind_handlers(Service::Tracker, &[claiming::<Overreaching>()]).unwrap_err();
        assert_eq!(mismatch.service, "tracker-svc");
        // The other problems are the tracker's queues this test gives no handler.
        let overreach: Vec<&String> = mismatch
            .problems
            .iter()
            .filter(|problem| problem.contains("which the routing table does not route"))
            .collect();
        assert_eq!(overreach.len(), 1, "{mismatch}");
        assert!(
            overreach[0].contains("reads ates.tracker.events.v1.TaskCompleted, which the routing table does not route to tracker-svc"),
            "{mismatch}"
        );
    }

    #[test]
    fn a_queue_type_without_a_handler_is_refused_naming_it() {
        let mismatch = bind_handlers(Service::Tracker, &[claiming::<Forgetful>()]).unwrap_err();
        assert!(
            mismatch.problems[0].contains("but not its ates.auth.events.v1.AccountRoleChanged"),
            "{mismatch}"
        );
        let nothing = bind_handlers(Service::Accounting, &[claiming::<Forgetful>()]).unwrap_err();
        assert!(
            nothing.problems.iter().any(|problem| problem
                .starts_with("no handler reads queue accounting.ates.tracker.task-lifecycle")),
            "{nothing}"
        );
    }

    #[test]
    fn two_handlers_reading_one_type_are_refused() {
        let mismatch = bind_handlers(
            Service::Tracker,
            &[claiming::<Forgetful>(), claiming::<Forgetful>()],
        )
        .unwrap_err();
        assert!(
            mismatch
                .problems
                .iter()
                .any(|problem| problem.contains("is read by more than one handler")),
            "{mismatch}"
        );
    }
}
