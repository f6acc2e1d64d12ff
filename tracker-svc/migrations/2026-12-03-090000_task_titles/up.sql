-- Schema v2: tasks get a title and an optional jira id beside the description.
--
-- Only metadata changes, so that this is instant on a table of any size: nullable columns and a
-- constant default take no table rewrite. Existing rows get their title later, from the
-- tracker's backfill worker, in small batches (see `operations::backfill`), which also tells the
-- consumers through TaskDetailsUpdated events. A tracker of the previous release keeps working
-- against this schema during a rolling upgrade: it writes none of these columns, and the worker
-- picks its rows up too.
--
-- The ALTER waits at most 5 s for its lock instead of queueing every other query of the table
-- behind a long transaction; a migration that times out fails the start, and the next start
-- tries again.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks
    -- NULL until the backfill worker (or a write of this release) sets it.
    ADD COLUMN title TEXT,
    -- NULL: no jira id.
    ADD COLUMN jira_id TEXT,
    -- The title was read from the description (no client gave one): it follows the description.
    ADD COLUMN title_derived BOOLEAN NOT NULL DEFAULT true,
    -- Likewise the jira id: read from a leading `[UBERPOP-42]` of the description until a client
    -- gives one (or gives a title, which comes with its own jira id or none).
    ADD COLUMN jira_id_derived BOOLEAN NOT NULL DEFAULT true,
    -- The revision (`description_revision`, the revision of all of a task's details) at which
    -- the consumers were last sent the title and jira id, in a v2 event. Behind the revision, or
    -- NULL, for rows written before this release, by a tracker of the previous release (which
    -- bumps the revision when it changes a description) or while the tracker publishes v1; the
    -- backfill worker announces them once it publishes v2, deriving the title again first when
    -- it follows the description.
    ADD COLUMN announced_revision BIGINT;
