CREATE OR REPLACE FUNCTION ledger_entries_update_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO balances (account_id, balance_cents, entry_count, updated_at)
    VALUES (NEW.account_id, NEW.amount_cents, 1, NEW.recorded_at)
    ON CONFLICT (account_id) DO UPDATE
        SET balance_cents = balances.balance_cents + EXCLUDED.balance_cents,
            entry_count = balances.entry_count + 1,
            updated_at = EXCLUDED.updated_at;
    IF NEW.kind <> 'payout' THEN
        INSERT INTO date_earnings (account_id, business_date, earned_cents, entry_count)
        VALUES (NEW.account_id, NEW.business_date, NEW.amount_cents, 1)
        ON CONFLICT (account_id, business_date) DO UPDATE
            SET earned_cents = date_earnings.earned_cents + EXCLUDED.earned_cents,
                entry_count = date_earnings.entry_count + 1;
    END IF;
    RETURN NULL;
END
$$;
DROP INDEX date_earnings_by_date;
ALTER TABLE date_earnings DROP COLUMN fees_cents, DROP COLUMN rewards_cents;
