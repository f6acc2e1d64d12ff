//! What arrives on a queue: the envelope's facts, the typed event a handler reads, and the trace
//! context that the events a handler records carry on.

use ates_contracts::ates::events::v1::EventEnvelope;
use chrono::{DateTime, Utc};
use prost::Message as _;
use uuid::Uuid;

use crate::HandlerError;

/// A delivery whose envelope decoded: its facts, and the payload not yet decoded.
#[derive(Debug, Clone)]
pub(crate) struct RawEvent {
    pub(crate) event_id: Uuid,
    pub(crate) event_type: String,
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) producer: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) traceparent: String,
    pub(crate) tracestate: String,
}

impl RawEvent {
    /// Reads a message body; the reason when it is not an aTES envelope.
    pub(crate) fn parse(data: &[u8]) -> Result<Self, String> {
        let envelope = EventEnvelope::decode(data)
            .map_err(|error| format!("envelope does not decode: {error}"))?;
        let event_id = Uuid::parse_str(&envelope.event_id).map_err(|error| {
            format!(
                "envelope event_id `{}` is not a UUID: {error}",
                envelope.event_id
            )
        })?;
        if envelope.event_type.is_empty() {
            return Err("envelope event_type is empty".to_owned());
        }
        let occurred_at = envelope
            .occurred_at
            .as_ref()
            .and_then(ates_contracts::time::instant)
            .ok_or_else(|| "envelope occurred_at is missing or out of range".to_owned())?;
        Ok(Self {
            event_id,
            event_type: envelope.event_type,
            occurred_at,
            producer: envelope.producer,
            payload: envelope.payload,
            traceparent: envelope.traceparent,
            tracestate: envelope.tracestate,
        })
    }

    /// Decodes the payload as `E`; a payload that does not decode is rejected for good.
    pub(crate) fn decode<E: prost::Message + Default>(&self) -> Result<E, HandlerError> {
        E::decode(self.payload.as_slice()).map_err(|error| {
            HandlerError::Rejected(format!(
                "payload of {} does not decode: {error}",
                self.event_type
            ))
        })
    }

    /// The span the event is applied in: a child of the producer's span.
    pub(crate) fn span(&self, queue: &str) -> tracing::Span {
        let span = tracing::info_span!(
            "consume event",
            messaging.system = "rabbitmq",
            messaging.destination = %queue,
            event.id = %self.event_id,
            event.type = %self.event_type,
            otel.kind = "consumer",
        );
        ates_telemetry::set_remote_parent(&span, &self.traceparent, &self.tracestate);
        span
    }

    /// What the events recorded because of this one carry: the trace of `span` (the span it is
    /// applied in) or, when this process does not trace, the producer's trace itself.
    pub(crate) fn cause_within(&self, span: &tracing::Span) -> Cause {
        let (traceparent, tracestate) = ates_telemetry::trace_context_of(span);
        if traceparent.is_empty() {
            Cause {
                traceparent: self.traceparent.clone(),
                tracestate: self.tracestate.clone(),
            }
        } else {
            Cause {
                traceparent,
                tracestate,
            }
        }
    }
}

/// An event as a handler reads it: the envelope's facts and the decoded message.
#[derive(Debug, Clone)]
pub struct Received<E> {
    /// The event id fixed by the producer.
    pub event_id: Uuid,
    /// When the business fact happened at the producer.
    pub occurred_at: DateTime<Utc>,
    /// The producing service (`tracker-svc`).
    pub producer: String,
    /// The decoded event.
    pub message: E,
    /// The trace the events recorded because of this one belong to.
    pub cause: Cause,
}

/// The trace context of the operation that causes an event: recorded with the event, so that its
/// consumers continue the same trace. Empty when nothing is traced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cause {
    traceparent: String,
    tracestate: String,
}

impl Cause {
    /// The current span's trace: what a gRPC handler's events carry.
    pub fn current() -> Self {
        let (traceparent, tracestate) = ates_telemetry::current_trace_context();
        Self {
            traceparent,
            tracestate,
        }
    }

    /// A trace context stored earlier (`traceparent` and `tracestate` as read from
    /// [`Cause::traceparent`] and [`Cause::tracestate`]).
    pub(crate) fn from_parts(traceparent: String, tracestate: String) -> Self {
        Self {
            traceparent,
            tracestate,
        }
    }

    /// The W3C `traceparent`, empty when not traced.
    pub fn traceparent(&self) -> &str {
        &self.traceparent
    }

    /// The W3C `tracestate` that goes with it.
    pub fn tracestate(&self) -> &str {
        &self.tracestate
    }

    /// The trace id in lower-case hex, when traced.
    pub fn trace_id(&self) -> Option<&str> {
        // traceparent = version "-" trace-id (32 hex) "-" parent-id "-" flags.
        self.traceparent
            .split('-')
            .nth(1)
            .filter(|id| id.len() == 32)
    }
}
