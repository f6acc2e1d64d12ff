//! Every event bff produces. None yet.
