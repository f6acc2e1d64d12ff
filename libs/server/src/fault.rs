//! Named crash points for tests: a test sets `ATES_FAULT_POINT` to a point's name and the
//! process dies there, as it would if killed at that instant. Compiled into debug builds only;
//! in a release build `fault_point` does nothing.

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
