-- Management's fees and rewards per date, kept per account and date beside the earnings by the
-- balance trigger. Summing the day's ledger entries instead cost a scan of every entry of the
-- range per dashboard call, which grew with every entry of the day (16 ms at 46,000 entries);
-- the sum over date_earnings reads one row per account. There is still no single row per date:
-- it would serialise every posting of the day.
-- No entry may be inserted between the sums below and the new trigger: a writer still running
-- the old trigger would be missing from them. The lock lasts as long as the sums take. It comes
-- first: a writer holds ledger_entries and then takes date_earnings (in the trigger), so taking
-- date_earnings first could deadlock with it.
LOCK TABLE ledger_entries IN SHARE MODE;

ALTER TABLE date_earnings
    ADD COLUMN fees_cents BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN rewards_cents BIGINT NOT NULL DEFAULT 0;

UPDATE date_earnings
SET fees_cents = sums.fees_cents, rewards_cents = sums.rewards_cents
FROM (
    SELECT account_id, business_date,
        COALESCE(-sum(amount_cents) FILTER (WHERE kind = 'assignment_fee'), 0) AS fees_cents,
        COALESCE(sum(amount_cents) FILTER (WHERE kind = 'completion_reward'), 0) AS rewards_cents
    FROM ledger_entries
    WHERE book = 'employee' AND kind <> 'payout'
    GROUP BY account_id, business_date
) AS sums
WHERE date_earnings.account_id = sums.account_id AND date_earnings.business_date = sums.business_date;

CREATE INDEX date_earnings_by_date ON date_earnings (business_date);

CREATE OR REPLACE FUNCTION ledger_entries_update_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO balances (account_id, balance_cents, entry_count, updated_at)
    VALUES (NEW.account_id, NEW.amount_cents, 1, NEW.recorded_at)
    ON CONFLICT (account_id) DO UPDATE
        SET balance_cents = balances.balance_cents + EXCLUDED.balance_cents,
            entry_count = balances.entry_count + 1,
            updated_at = EXCLUDED.updated_at;
    IF NEW.kind <> 'payout' THEN
        INSERT INTO date_earnings (account_id, business_date, earned_cents, entry_count, fees_cents, rewards_cents)
        VALUES (
            NEW.account_id, NEW.business_date, NEW.amount_cents, 1,
            CASE WHEN NEW.kind = 'assignment_fee' THEN -NEW.amount_cents ELSE 0 END,
            CASE WHEN NEW.kind = 'completion_reward' THEN NEW.amount_cents ELSE 0 END
        )
        ON CONFLICT (account_id, business_date) DO UPDATE
            SET earned_cents = date_earnings.earned_cents + EXCLUDED.earned_cents,
                entry_count = date_earnings.entry_count + 1,
                fees_cents = date_earnings.fees_cents + EXCLUDED.fees_cents,
                rewards_cents = date_earnings.rewards_cents + EXCLUDED.rewards_cents;
    END IF;
    RETURN NULL;
END
$$;
