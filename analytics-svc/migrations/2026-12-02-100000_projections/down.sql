DROP TABLE resync_batches;
DROP TABLE resyncs;
DROP TABLE day_totals;
DROP TABLE entries;
DROP TABLE balances;
DROP TABLE tasks;
DROP TABLE accounts;
