//! Events payouts consumes. None yet.
