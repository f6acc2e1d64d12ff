//! Events auth consumes: only `ResyncRequested`, answered by the shared snapshot handler
//! (`ates_messaging::snapshot`) with the state in `snapshots`. auth is the source of accounts;
//! it reads no other service's data.
