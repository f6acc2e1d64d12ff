//! analytics' tables: its projections of accounts, tasks, balances and the audit log (with
//! per-date totals), and the resyncs it asked for.

pub mod accounts;
pub mod balances;
pub mod entries;
pub mod resyncs;
pub mod schema;
pub mod tasks;

use std::collections::BTreeMap;

/// Of several values per key, the one with the highest revision (the first of equals).
pub(crate) fn newest<K: Ord, T>(
    items: impl IntoIterator<Item = (K, i64, T)>,
) -> BTreeMap<K, (i64, T)> {
    let mut newest: BTreeMap<K, (i64, T)> = BTreeMap::new();
    for (key, revision, value) in items {
        match newest.get(&key) {
            Some((known, _)) if *known >= revision => {}
            _ => {
                newest.insert(key, (revision, value));
            }
        }
    }
    newest
}
