//! Events auth consumes: none. auth is the source of accounts; it reads no other service's
//! events. A handler would go here, registered in `app.rs`.
