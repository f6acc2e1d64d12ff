-- The accounts auth has announced (AccountCreated, or an accounts snapshot), so that an account
-- with no entry yet has a statement (balance 0, no entries) and only an id nobody announced is
-- unknown. Accounts with entries are known through their balance row as well: an entry can
-- arrive before its account's announcement, and accounts of earlier releases were never
-- announced to accounting.
CREATE TABLE accounts (
    account_id UUID PRIMARY KEY,
    announced_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
