DROP TABLE emails;
DROP TABLE payouts;
DROP TABLE closes;
DROP TABLE daily_earnings;
DROP TABLE accounts;
