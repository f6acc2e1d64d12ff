-- payouts' copy of accounts, from auth's events: whom to e-mail, in which role. The e-mail and
-- the role each keep the account revision they come from, so a late event never wins.
CREATE TABLE accounts (
    account_id UUID PRIMARY KEY,
    role TEXT CHECK (role IN ('admin', 'manager', 'accountant', 'worker')),
    role_revision BIGINT NOT NULL DEFAULT 0,
    email TEXT,
    email_revision BIGINT NOT NULL DEFAULT 0
);

-- What each account earned on each business date (fees and rewards, payouts excluded), from
-- accounting's bill events. The revision (the count of those entries) only grows: the highest
-- wins, whatever order events arrive in.
CREATE TABLE daily_earnings (
    account_id UUID NOT NULL,
    business_date DATE NOT NULL,
    earned_cents BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (account_id, business_date)
);

CREATE INDEX daily_earnings_by_date ON daily_earnings (business_date);

-- One row per business date closed (or being closed: finished_at is NULL until the last account
-- is paid). Dates are closed in order.
CREATE TABLE closes (
    business_date DATE PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    payouts BIGINT NOT NULL DEFAULT 0,
    paid_cents BIGINT NOT NULL DEFAULT 0
);

-- One payout per account and business date, at most: the business key of the money paid.
CREATE TABLE payouts (
    payout_id UUID PRIMARY KEY,
    account_id UUID NOT NULL,
    business_date DATE NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    paid_at TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, business_date)
);

CREATE INDEX payouts_by_date ON payouts (business_date, account_id);

-- The e-mail of each payout, written in the payout's transaction and sent afterwards. A sender
-- claims a row with a lease (lease_id, lease_until), sends outside any transaction, and marks it
-- only if it still holds the lease. The address is read from accounts when sending: a payout
-- whose account has no known address waits for one.
CREATE TABLE emails (
    payout_id UUID PRIMARY KEY REFERENCES payouts (payout_id),
    account_id UUID NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_id UUID,
    lease_until TIMESTAMPTZ,
    last_error TEXT,
    sent_at TIMESTAMPTZ
);

CREATE INDEX emails_pending ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_by_account ON emails (account_id) WHERE status = 'pending';
