//! payouts's rules, free of storage and transport. None yet.
