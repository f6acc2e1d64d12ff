//! Every event payouts produces. None yet.
