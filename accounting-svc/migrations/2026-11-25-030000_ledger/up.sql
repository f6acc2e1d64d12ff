-- The double-entry ledger. A posting is one money effect with a business key of its own (the fee
-- of one assignment, the reward of a task, the payout of an account for a day), so a fact
-- re-sent under a new event id can never post twice. Each posting has legs that sum to zero: the
-- employee's leg and a company leg.
CREATE TABLE postings (
    id UUID PRIMARY KEY,
    business_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('assignment_fee', 'completion_reward', 'payout')),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE ledger_entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id UUID NOT NULL UNIQUE,
    posting_id UUID NOT NULL REFERENCES postings (id),
    -- 'employee' legs belong to an account; company legs to one of the company books.
    book TEXT NOT NULL CHECK (book IN ('employee', 'company_fee_income', 'company_reward_expense', 'company_payouts')),
    account_id UUID,
    task_id UUID,
    kind TEXT NOT NULL CHECK (kind IN ('assignment_fee', 'completion_reward', 'payout')),
    amount_cents BIGINT NOT NULL,
    business_date DATE NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    CHECK ((book = 'employee') = (account_id IS NOT NULL))
);

CREATE INDEX ledger_entries_by_account ON ledger_entries (account_id, business_date, id) WHERE book = 'employee';
CREATE INDEX ledger_entries_by_date ON ledger_entries (business_date, kind) WHERE book = 'employee';

-- Entries are immutable.
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable';
END
$$;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable();

-- An employee's balance, kept equal to the sum of its entries by the trigger below, in the same
-- transaction as every insert. Company books have no balance row: their totals are summed on
-- read, so no single row serialises every posting.
CREATE TABLE balances (
    account_id UUID PRIMARY KEY,
    balance_cents BIGINT NOT NULL,
    entry_count BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION ledger_entries_update_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO balances (account_id, balance_cents, entry_count, updated_at)
    VALUES (NEW.account_id, NEW.amount_cents, 1, NEW.recorded_at)
    ON CONFLICT (account_id) DO UPDATE
        SET balance_cents = balances.balance_cents + EXCLUDED.balance_cents,
            entry_count = balances.entry_count + 1,
            updated_at = EXCLUDED.updated_at;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
    FOR EACH ROW WHEN (NEW.book = 'employee') EXECUTE FUNCTION ledger_entries_update_balance();

-- Tasks as accounting knows them: their current description, for the audit log.
CREATE TABLE tasks (
    task_id UUID PRIMARY KEY,
    description TEXT NOT NULL,
    -- 0 when only an assignment event told us; TaskDescriptionUpdated revisions are 2 and up.
    description_revision BIGINT NOT NULL
);
