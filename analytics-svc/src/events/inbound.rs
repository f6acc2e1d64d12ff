//! Events analytics consumes. None yet.
