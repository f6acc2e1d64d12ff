//! analytics's tables, through diesel. None yet.
