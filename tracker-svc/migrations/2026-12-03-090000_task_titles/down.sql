ALTER TABLE tasks
    DROP COLUMN announced_revision,
    DROP COLUMN title_derived,
    DROP COLUMN jira_id,
    DROP COLUMN title;
