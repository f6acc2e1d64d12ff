-- Task titles and jira ids (task events v2), at the revision of the task's details that told
-- them: title and description are merged separately, so a version 1 text (which carries no
-- title) never hides a title, in whichever order the events arrive. NULL title: only version 1
-- events have told this task. Adding nullable columns without a default rewrites nothing, so
-- this is instant on any size of table.
ALTER TABLE tasks ADD COLUMN title TEXT, ADD COLUMN jira_id TEXT, ADD COLUMN title_revision BIGINT;
