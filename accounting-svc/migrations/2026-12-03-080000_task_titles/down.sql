ALTER TABLE tasks DROP COLUMN title, DROP COLUMN jira_id, DROP COLUMN title_revision;
