-- A producer's answer to a resync request: one job per (resync, stream), sent a batch at a time.
-- The cursor and next batch index move in the transaction that records the batch's event, so a
-- crash neither loses a batch nor sends one twice.
CREATE TABLE snapshot_jobs (
    resync_id UUID NOT NULL,
    stream TEXT NOT NULL,
    next_index INTEGER NOT NULL DEFAULT 0,
    -- Where the next batch starts (the stream's own key, as text); NULL: at the beginning.
    cursor TEXT,
    -- The trace of the request, continued by every batch.
    traceparent TEXT NOT NULL,
    tracestate TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (resync_id, stream)
);

CREATE INDEX snapshot_jobs_unfinished ON snapshot_jobs (requested_at) WHERE finished_at IS NULL;
