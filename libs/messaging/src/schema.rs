//! Diesel table definitions of the outbox and inbox; they mirror `migrations/`.

diesel::table! {
    outbox_events (id) {
        id -> Int8,
        event_id -> Uuid,
        event_type -> Text,
        exchange -> Text,
        routing_key -> Text,
        envelope -> Bytea,
        traceparent -> Text,
        tracestate -> Text,
        recorded_at -> Timestamptz,
        publish_attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    inbox_events (event_id) {
        event_id -> Uuid,
        event_type -> Text,
        queue -> Text,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    snapshot_jobs (resync_id, stream) {
        resync_id -> Uuid,
        stream -> Text,
        next_index -> Int4,
        cursor -> Nullable<Text>,
        traceparent -> Text,
        tracestate -> Text,
        requested_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}
