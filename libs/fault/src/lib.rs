//! Named crash points for tests: a test sets `ATES_FAULT_POINT` to a point's name and the
//! process dies there, as it would if it were killed at that instant. Compiled into debug builds
//! (the ones tests run) only; in a release binary `fault_point` is empty.
//!
//! The points, each exercised by a system test (`system-tests/tests/crash_points.rs`,
//! `system-tests/tests/payouts.rs`):
//!
//! | point | where the process dies |
//! |---|---|
//! | `consumer.after_commit` | a consumer's batch that applied an event is committed (inbox and effects), not yet acked |
//! | `relay.after_confirm` | the broker confirmed a relay batch; the outbox rows are not yet deleted |
//! | `payouts.close.after_batch` | a close committed its first payouts, the rest not yet |
//! | `payouts.email.after_accepted` | the mail server accepted a payout's e-mail; not yet recorded |
//!
//! A test process cannot abort itself, so `ates-messaging`'s own tests stage the first two
//! crashes in-process instead, with that crate's test-only `fault-injection` feature: a consumer
//! session that ends after its commit without acking or closing, a relay round rolled back
//! after the broker's confirm. These points are for the real binaries.

/// Aborts the process when `ATES_FAULT_POINT` names `point` (debug builds only).
pub fn fault_point(point: &str) {
    #[cfg(debug_assertions)]
    {
        static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let armed = ARMED.get_or_init(|| std::env::var("ATES_FAULT_POINT").ok());
        if armed.as_deref() == Some(point) {
            tracing::error!(
                fault.point = point,
                "fault injection: the process dies here"
            );
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
