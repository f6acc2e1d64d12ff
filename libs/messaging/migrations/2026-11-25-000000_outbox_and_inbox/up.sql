-- The transactional outbox: a service inserts events here in the same transaction as the change
-- that caused them; the relay publishes them and deletes them once the broker has confirmed them.
-- A row here is an event not yet confirmed by the broker.
CREATE TABLE outbox_events (
    -- Insertion order only. The relay never uses it as a cursor: identity values are taken before
    -- commit, so rows commit out of order.
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id UUID NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    exchange TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    -- The encoded ates.events.v1.EventEnvelope, exactly the bytes that go on the wire.
    envelope BYTEA NOT NULL,
    traceparent TEXT NOT NULL DEFAULT '',
    tracestate TEXT NOT NULL DEFAULT '',
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    publish_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error TEXT
);

-- The inbox: the ids of the events a consumer applied, inserted in the same transaction as the
-- event's effect. An id already here means the event was applied; the delivery is only acked.
CREATE TABLE inbox_events (
    event_id UUID PRIMARY KEY,
    event_type TEXT NOT NULL,
    queue TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
