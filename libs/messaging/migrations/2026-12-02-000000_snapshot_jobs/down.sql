DROP TABLE snapshot_jobs;
