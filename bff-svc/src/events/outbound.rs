//! Every event bff produces. None: it changes nothing.
