-- Idempotency keys of the calls that move money (CreateTask, ReassignOpenTasks, CompleteTask).
-- A key is written in the same transaction as the change it names, so a retry with the same key
-- either finds the committed result or, if the first call rolled back, acts as the first call.
CREATE TABLE request_keys (
    caller_id UUID NOT NULL,
    request_id UUID NOT NULL,
    method TEXT NOT NULL,
    -- What the request asked for (the description, the task id), so that a key reused for a
    -- different request is refused instead of answered with another request's result.
    fingerprint TEXT NOT NULL,
    -- The task or reshuffle the first call produced, and for a reshuffle its task count.
    result_id UUID,
    result_count BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (caller_id, request_id)
);

-- Keys are pruned after TRACKER_REQUEST_KEY_RETENTION_HOURS; rows arrive in created_at order.
CREATE INDEX request_keys_created_at ON request_keys USING brin (created_at);
