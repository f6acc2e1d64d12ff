-- The rows the backfill worker still has to announce. Built CONCURRENTLY, which takes no lock
-- that blocks writes, so this migration runs outside a transaction (metadata.toml) and holds
-- this one statement only. After the backfill the index is nearly empty, so the worker's
-- periodic look costs nothing.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_details_unannounced ON tasks (id) WHERE announced_revision IS DISTINCT FROM description_revision
