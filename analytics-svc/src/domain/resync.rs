//! When a resync is complete: every stream's batches, from the first to the one marked last.

/// A stream of snapshot batches: what one producer sends again for a resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    /// Accounts and roles, from auth.
    Accounts,
    /// Tasks, descriptions and prices, from the tracker.
    Tasks,
    /// Balances, from accounting.
    Bills,
    /// The employees' ledger entries, from accounting.
    AuditLog,
}

/// Every stream a resync waits for.
pub const STREAMS: [Stream; 4] = [
    Stream::Accounts,
    Stream::Tasks,
    Stream::Bills,
    Stream::AuditLog,
];

/// A snapshot batch that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSeen {
    /// Its stream.
    pub stream: Stream,
    /// Its position, from 0.
    pub index: u32,
    /// Whether it is its stream's final batch.
    pub last: bool,
}

/// Whether `batches` (each at most once) hold every stream from batch 0 to its last.
pub fn is_complete(batches: &[BatchSeen]) -> bool {
    STREAMS.into_iter().all(|stream| {
        let of_stream = || batches.iter().filter(move |batch| batch.stream == stream);
        of_stream().find(|batch| batch.last).is_some_and(|last| {
            of_stream()
                .filter(|batch| batch.index <= last.index)
                .count()
                == last.index as usize + 1
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(stream: Stream, index: u32, last: bool) -> BatchSeen {
        BatchSeen {
            stream,
            index,
            last,
        }
    }

    #[test]
    fn a_resync_is_complete_when_every_stream_arrived_up_to_its_last_batch() {
        let mut batches = vec![
            seen(Stream::Accounts, 0, true),
            seen(Stream::Tasks, 1, true),
            seen(Stream::Bills, 0, true),
            seen(Stream::AuditLog, 0, false),
        ];
        assert!(
            !is_complete(&batches),
            "tasks lack batch 0, audit-log its last"
        );
        batches.push(seen(Stream::Tasks, 0, false));
        assert!(!is_complete(&batches), "audit-log lacks its last");
        batches.push(seen(Stream::AuditLog, 2, true));
        assert!(!is_complete(&batches), "audit-log lacks batch 1");
        batches.push(seen(Stream::AuditLog, 1, false));
        assert!(is_complete(&batches));
        assert!(!is_complete(&[]));
    }
}
