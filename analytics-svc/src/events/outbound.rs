//! Every event analytics produces. None yet.
