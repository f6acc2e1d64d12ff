DROP TABLE assignments;
DROP TABLE tasks;
DROP TABLE accounts;
