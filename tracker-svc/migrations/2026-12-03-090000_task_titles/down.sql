-- Consumers keep a task's title at the highest revision they heard. A title or jira id a client
-- gave is lost with these columns, and the next upgrade would announce the derived ones at the
-- revisions the consumers already hold, which they would ignore: move those rows' revision on
-- first, so the next announcement wins.
UPDATE tasks SET description_revision = description_revision + 1
WHERE NOT title_derived OR NOT jira_id_derived;

ALTER TABLE tasks
    DROP COLUMN announced_revision,
    DROP COLUMN jira_id_derived,
    DROP COLUMN title_derived,
    DROP COLUMN jira_id,
    DROP COLUMN title;
