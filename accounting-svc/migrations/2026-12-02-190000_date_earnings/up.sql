-- What each employee earned on each business date (its fee and reward entries; payouts are not
-- earnings), kept by the balance trigger in the same transaction as every insert, like the
-- balance itself. `BillUpdated` carries it for every account and date a settlement touches;
-- summing the day's entries there instead cost a scan of the whole day per batch, which grew with
-- every entry of the day.
CREATE TABLE date_earnings (
    account_id UUID NOT NULL,
    business_date DATE NOT NULL,
    earned_cents BIGINT NOT NULL,
    entry_count BIGINT NOT NULL,
    PRIMARY KEY (account_id, business_date)
);

-- No entry may be inserted between the sums below and the new trigger: a writer still running
-- the old trigger would be missing from them. The lock lasts as long as the sums take.
LOCK TABLE ledger_entries IN SHARE MODE;

INSERT INTO date_earnings (account_id, business_date, earned_cents, entry_count)
SELECT account_id, business_date, sum(amount_cents), count(*)
FROM ledger_entries
WHERE book = 'employee' AND kind <> 'payout'
GROUP BY account_id, business_date;

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
