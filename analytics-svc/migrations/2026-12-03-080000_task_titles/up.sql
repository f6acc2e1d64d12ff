-- Task titles and jira ids (task events v2). NULL title: only version 1 events have told this
-- task (they carry no title); a version 2 event fills both in. Adding nullable columns without
-- a default rewrites nothing, so this is instant on any size of table.
ALTER TABLE tasks ADD COLUMN title TEXT, ADD COLUMN jira_id TEXT;
