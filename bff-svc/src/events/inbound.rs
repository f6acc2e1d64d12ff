//! Events bff consumes. None yet.
