//! One batch of deliveries: applying it through the inbox in one transaction, and what then
//! becomes of each delivery (ack, park, requeue), decided by a pure function.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ates_storage::{DbError, DbPool};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tracing::Instrument;
use uuid::Uuid;

use crate::envelope::RawEvent;
use crate::handler::{HandlerError, InboundEvent, QueueHandler};
use crate::outbox::Outbox;
use crate::schema::inbox_events;

/// What became of one delivery when its batch was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Its handler ran and the transaction committed.
    Applied,
    /// Its event id was in the inbox already: a redelivery.
    AlreadyApplied,
    /// It can never be applied, for this reason.
    Park(String),
    /// Its handler failed; it may succeed later.
    Retry(String),
}

/// What is done with a delivery after its batch committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Acknowledge it.
    Ack,
    /// Copy it to the dead-letter queue with this reason (confirmed), then acknowledge it.
    Park(String),
    /// Hand it back to the queue after this pause.
    Requeue(Duration),
}

/// How often, and how patiently, a failing event is tried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Deliveries of a failing event before it is parked.
    pub max_attempts: u32,
    /// Pause before a requeue, times the delivery's attempt number.
    pub retry_delay: Duration,
}

/// The action for a delivery with `outcome` that the broker had delivered `earlier_deliveries`
/// times before.
pub(crate) fn decide(outcome: Outcome, earlier_deliveries: u32, policy: RetryPolicy) -> Action {
    match outcome {
        Outcome::Applied | Outcome::AlreadyApplied => Action::Ack,
        Outcome::Park(reason) => Action::Park(reason),
        Outcome::Retry(reason) => {
            let attempts = earlier_deliveries.saturating_add(1);
            if attempts >= policy.max_attempts {
                Action::Park(format!(
                    "handler failed {attempts} times; last error: {reason}"
                ))
            } else {
                Action::Requeue(policy.retry_delay.saturating_mul(attempts))
            }
        }
    }
}

/// Whether one `multiple` ack of the batch's last delivery may acknowledge the whole batch. It
/// acknowledges every earlier unacknowledged delivery of the channel too, so it must not while
/// any of them (in this batch or an earlier one) waits to be requeued.
pub(crate) fn one_ack_covers_all(actions: &[Action], requeues_pending: usize) -> bool {
    requeues_pending == 0
        && !actions
            .iter()
            .any(|action| matches!(action, Action::Requeue(_)))
}

/// Why a batch's transaction did not commit. The batch is applied again (the inbox makes that
/// safe) after a pause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    #[error(transparent)]
    Database(#[from] DbError),
    /// A handler did not apply its events; the batch is applied again event by event.
    #[error("a handler refused an event")]
    HandlerRefused,
    /// A handler hit a transient database condition; the batch is applied again later.
    #[error("transient: {0}")]
    Transient(String),
}

impl From<diesel::result::Error> for BatchError {
    fn from(error: diesel::result::Error) -> Self {
        BatchError::Database(error.into())
    }
}

/// Applies batches of one queue.
pub(crate) struct Applier<'a> {
    pub pool: &'a DbPool,
    pub outbox: &'a Outbox,
    pub handler: &'a Arc<dyn QueueHandler>,
    pub queue: &'a str,
}

impl Applier<'_> {
    /// Applies the parseable events of a batch in one transaction: first all at once; when the
    /// handler refuses that, again with each event in a savepoint of its own, so that only the
    /// failing one is set aside or retried. One outcome per delivery, in order.
    pub(crate) async fn apply(
        &self,
        parsed: &[Result<RawEvent, String>],
    ) -> Result<Vec<Outcome>, BatchError> {
        let mut conn = ates_storage::connection(self.pool).await?;
        match self.all_or_nothing(&mut conn, parsed).await {
            Err(BatchError::HandlerRefused) => self.one_by_one(&mut conn, parsed).await,
            other => other,
        }
    }

    /// The fast path: one inbox statement for the whole batch, then the handler once, in one
    /// transaction without savepoints. Any handler error rolls the whole batch back.
    async fn all_or_nothing(
        &self,
        conn: &mut AsyncPgConnection,
        parsed: &[Result<RawEvent, String>],
    ) -> Result<Vec<Outcome>, BatchError> {
        let (handler, queue) = (self.handler, self.queue);
        self.outbox
            .transaction(conn, async |conn, recorder| {
                let rows: Vec<_> = parsed
                    .iter()
                    .filter_map(|parsed_event| parsed_event.as_ref().ok())
                    .map(|event| inbox_row(event, queue))
                    .collect();
                let mut fresh: HashSet<Uuid> = if rows.is_empty() {
                    HashSet::new()
                } else {
                    diesel::insert_into(inbox_events::table)
                        .values(&rows)
                        .on_conflict_do_nothing()
                        .returning(inbox_events::event_id)
                        .get_results(conn)
                        .await?
                        .into_iter()
                        .collect()
                };
                let mut outcomes = Vec::with_capacity(parsed.len());
                let mut new_events = Vec::with_capacity(parsed.len());
                for parsed_event in parsed {
                    match parsed_event {
                        Err(reason) => outcomes.push(Outcome::Park(reason.clone())),
                        // `remove`, so that a second copy of an event in the same batch is
                        // already applied.
                        Ok(event) if fresh.remove(&event.event_id) => {
                            new_events.push(InboundEvent::new(event, queue));
                            outcomes.push(Outcome::Applied);
                        }
                        Ok(_) => outcomes.push(Outcome::AlreadyApplied),
                    }
                }
                if let [first, ..] = new_events.as_slice() {
                    // Inside the first event's trace; linked to the traces of all of them.
                    let span = tracing::info_span!(
                        parent: &first.span,
                        "consume batch",
                        messaging.destination = %queue,
                        events = new_events.len(),
                    );
                    for event in &new_events {
                        span.follows_from(&event.span);
                    }
                    handler
                        .apply(conn, recorder, &new_events)
                        .instrument(span)
                        .await
                        .map_err(|_| BatchError::HandlerRefused)?;
                }
                Ok(outcomes)
            })
            .await
    }

    /// The careful path: each event in a savepoint of its own, inside its own span.
    async fn one_by_one(
        &self,
        conn: &mut AsyncPgConnection,
        parsed: &[Result<RawEvent, String>],
    ) -> Result<Vec<Outcome>, BatchError> {
        let (handler, queue) = (self.handler, self.queue);
        self.outbox
            .transaction(conn, async |conn, recorder| {
                let mut outcomes = Vec::with_capacity(parsed.len());
                for parsed_event in parsed {
                    let raw = match parsed_event {
                        Ok(raw) => raw,
                        Err(reason) => {
                            outcomes.push(Outcome::Park(reason.clone()));
                            continue;
                        }
                    };
                    let event = InboundEvent::new(raw, queue);
                    let result = conn
                        .transaction::<bool, SavepointError, _>(async |conn| {
                            let inserted = diesel::insert_into(inbox_events::table)
                                .values(inbox_row(raw, queue))
                                .on_conflict_do_nothing()
                                .execute(conn)
                                .await?;
                            if inserted == 0 {
                                return Ok(false);
                            }
                            handler
                                .apply(conn, recorder, std::slice::from_ref(&event))
                                .await
                                .map_err(SavepointError::Handler)?;
                            Ok(true)
                        })
                        .instrument(event.span.clone())
                        .await;
                    outcomes.push(savepoint_outcome(result)?);
                }
                Ok(outcomes)
            })
            .await
    }
}

/// The columns of one inbox row.
type InboxRow<'a> = (
    diesel::dsl::Eq<inbox_events::event_id, Uuid>,
    diesel::dsl::Eq<inbox_events::event_type, &'a String>,
    diesel::dsl::Eq<inbox_events::queue, &'a str>,
);

/// The inbox row that records `event` as applied from `queue`.
fn inbox_row<'a>(event: &'a RawEvent, queue: &'a str) -> InboxRow<'a> {
    (
        inbox_events::event_id.eq(event.event_id),
        inbox_events::event_type.eq(&event.event_type),
        inbox_events::queue.eq(queue),
    )
}

/// What one event's savepoint came to: applied (`Ok(true)`), already applied (`Ok(false)`), or
/// the handler's refusal (parked at once), failure (retried) or transient condition (the whole
/// batch again later), or a database failure (the whole batch again later).
fn savepoint_outcome(result: Result<bool, SavepointError>) -> Result<Outcome, BatchError> {
    match result {
        Ok(true) => Ok(Outcome::Applied),
        Ok(false) => Ok(Outcome::AlreadyApplied),
        Err(SavepointError::Handler(HandlerError::Rejected(reason))) => Ok(Outcome::Park(reason)),
        Err(SavepointError::Handler(HandlerError::Failed(reason))) => Ok(Outcome::Retry(reason)),
        Err(SavepointError::Handler(HandlerError::Transient(reason))) => {
            Err(BatchError::Transient(reason))
        }
        Err(SavepointError::Database(error)) => Err(BatchError::Database(error)),
    }
}

/// Why a savepoint rolled back.
#[derive(Debug)]
enum SavepointError {
    Handler(HandlerError),
    Database(DbError),
}

impl From<diesel::result::Error> for SavepointError {
    fn from(error: diesel::result::Error) -> Self {
        SavepointError::Database(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        retry_delay: Duration::from_millis(200),
    };

    #[test]
    fn applied_and_already_applied_deliveries_are_acked() {
        assert_eq!(decide(Outcome::Applied, 0, POLICY), Action::Ack);
        assert_eq!(decide(Outcome::AlreadyApplied, 7, POLICY), Action::Ack);
    }

    #[test]
    fn a_delivery_that_can_never_be_applied_is_parked_with_its_reason_at_once() {
        assert_eq!(
            decide(
                Outcome::Park("envelope does not decode".to_owned()),
                0,
                POLICY
            ),
            Action::Park("envelope does not decode".to_owned())
        );
    }

    #[test]
    fn a_failure_is_requeued_with_a_growing_pause_until_the_last_attempt() {
        let failure = || Outcome::Retry("boom".to_owned());
        assert_eq!(
            decide(failure(), 0, POLICY),
            Action::Requeue(Duration::from_millis(200))
        );
        assert_eq!(
            decide(failure(), 3, POLICY),
            Action::Requeue(Duration::from_millis(800))
        );
        assert_eq!(
            decide(failure(), 4, POLICY),
            Action::Park("handler failed 5 times; last error: boom".to_owned())
        );
        assert!(matches!(
            decide(failure(), u32::MAX, POLICY),
            Action::Park(_)
        ));
    }

    #[test]
    fn each_savepoint_result_becomes_its_outcome_or_a_retry_of_the_batch() {
        assert_eq!(savepoint_outcome(Ok(true)).unwrap(), Outcome::Applied);
        assert_eq!(
            savepoint_outcome(Ok(false)).unwrap(),
            Outcome::AlreadyApplied
        );
        let handler = |error| savepoint_outcome(Err(SavepointError::Handler(error)));
        assert_eq!(
            handler(HandlerError::Rejected("bad".into())).unwrap(),
            Outcome::Park("bad".into())
        );
        assert_eq!(
            handler(HandlerError::Failed("boom".into())).unwrap(),
            Outcome::Retry("boom".into())
        );
        assert!(matches!(
            handler(HandlerError::Transient("deadlock".into())),
            Err(BatchError::Transient(_))
        ));
        assert!(matches!(
            savepoint_outcome(Err(SavepointError::Database(DbError::Unavailable(
                "gone".into()
            )))),
            Err(BatchError::Database(_))
        ));
    }

    #[test]
    fn one_ack_covers_the_batch_only_when_nothing_waits_to_be_requeued() {
        let park = Action::Park("why".to_owned());
        assert!(one_ack_covers_all(&[Action::Ack, park.clone()], 0));
        assert!(one_ack_covers_all(&[], 0));
        assert!(!one_ack_covers_all(&[Action::Ack], 1));
        assert!(!one_ack_covers_all(
            &[Action::Ack, Action::Requeue(Duration::ZERO), park],
            0
        ));
    }
}
