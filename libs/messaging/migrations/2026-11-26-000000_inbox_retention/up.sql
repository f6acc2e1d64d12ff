-- Inbox rows are pruned after a retention period (INBOX_RETENTION_DAYS). Rows arrive in
-- applied_at order, so a BRIN index finds the old ones at almost no cost to the inserts.
CREATE INDEX inbox_events_applied_at ON inbox_events USING brin (applied_at);
