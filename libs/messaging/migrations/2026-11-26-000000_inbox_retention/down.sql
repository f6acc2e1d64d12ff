DROP INDEX inbox_events_applied_at;
