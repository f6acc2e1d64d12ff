CREATE OR REPLACE FUNCTION ledger_entries_update_balance() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TABLE date_earnings;
