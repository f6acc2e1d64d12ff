//! payouts's tables, through diesel. None yet.
