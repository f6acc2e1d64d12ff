-- analytics' projections: its own copy of what other services announced. Every table is merged
-- from change events and snapshot items alike, by identity and revision, so that duplicates,
-- any arrival order and a snapshot sent while changes go on all end in the same state.

-- Accounts and their roles (auth), at the highest account revision heard.
CREATE TABLE accounts (
    account_id UUID PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'accountant', 'worker')),
    revision BIGINT NOT NULL
);

-- Tasks (tracker): prices from TaskCreated or a snapshot; the description at the highest
-- description revision heard. A description update can arrive before its task: the prices are
-- then unknown (NULL) until the task arrives.
CREATE TABLE tasks (
    task_id UUID PRIMARY KEY,
    description TEXT NOT NULL,
    description_revision BIGINT NOT NULL,
    fee_cents BIGINT,
    reward_cents BIGINT,
    created_at TIMESTAMPTZ
);

-- Balances now (accounting), at the highest revision (entry count) heard.
CREATE TABLE balances (
    account_id UUID PRIMARY KEY,
    balance_cents BIGINT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX balances_negative ON balances (account_id) WHERE balance_cents < 0;

-- The employees' audit log (accounting): every entry once, by its id.
CREATE TABLE entries (
    entry_id UUID PRIMARY KEY,
    account_id UUID NOT NULL,
    task_id UUID,
    kind TEXT NOT NULL CHECK (kind IN ('assignment_fee', 'completion_reward', 'payout')),
    amount_cents BIGINT NOT NULL,
    business_date DATE NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL
);
-- A completion reward is a completed task: the most expensive of a date is the first row here.
CREATE INDEX entries_rewards ON entries (business_date, amount_cents DESC, occurred_at, task_id)
    WHERE kind = 'completion_reward';

-- Fees and rewards per business date, both as positive sums, added to in the transaction that
-- inserts a new entry (an entry already known adds nothing). Payouts are not earnings.
CREATE TABLE day_totals (
    business_date DATE PRIMARY KEY,
    fees_cents BIGINT NOT NULL,
    rewards_cents BIGINT NOT NULL
);

-- Resyncs analytics asked for, and the snapshot batches received for them.
CREATE TABLE resyncs (
    resync_id UUID PRIMARY KEY,
    -- The order requests were recorded in: assigned under the request lock, so a later position
    -- is a later request even when two requests' clocks disagree.
    position BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    requested_at TIMESTAMPTZ NOT NULL,
    wiped BOOLEAN NOT NULL
);

CREATE TABLE resync_batches (
    resync_id UUID NOT NULL,
    stream TEXT NOT NULL,
    batch_index INTEGER NOT NULL,
    last BOOLEAN NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (resync_id, stream, batch_index)
);
