DROP TABLE tasks;
DROP TRIGGER ledger_entries_balance ON ledger_entries;
DROP FUNCTION ledger_entries_update_balance();
DROP TABLE balances;
DROP TRIGGER ledger_entries_no_update ON ledger_entries;
DROP FUNCTION ledger_entries_immutable();
DROP TABLE ledger_entries;
DROP TABLE postings;
