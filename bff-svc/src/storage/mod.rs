//! bff's tables, through diesel. None yet.
