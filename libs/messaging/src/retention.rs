//! Which rows of the messaging tables expire.

/// The inbox table and its time column, for pruning. An event redelivered after its id is
/// gone would be applied again, so every handler must also be idempotent by business key (the
/// ledger's posting keys, revisions): the inbox is the fast path, not the only guard.
pub const INBOX_TABLE: &str = "inbox_events";
/// See [`INBOX_TABLE`].
pub const INBOX_TIME_COLUMN: &str = "applied_at";
