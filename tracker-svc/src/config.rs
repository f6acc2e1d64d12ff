//! The tracker's own settings, beside the ones every service has.

use std::time::Duration;

use ates_server::{ConfigError, positive};

/// Settings of tracker-svc.
#[derive(Debug, Clone, Copy)]
pub struct TrackerConfig {
    /// `TRACKER_REASSIGNMENT_BATCH_SIZE`: most assignments per TasksReassigned event (500).
    pub reassignment_batch_size: usize,
    /// `TRACKER_REQUEST_KEY_RETENTION_HOURS`: how long idempotency keys are kept (72 h); a retry
    /// after that acts as a new call.
    pub request_key_retention: Duration,
}

/// Default most assignments per TasksReassigned event.
pub const DEFAULT_REASSIGNMENT_BATCH_SIZE: usize = 500;
/// Default hours a request key (idempotency key) is kept.
pub const DEFAULT_REQUEST_KEY_RETENTION_HOURS: u64 = 72;

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            reassignment_batch_size: DEFAULT_REASSIGNMENT_BATCH_SIZE,
            request_key_retention: Duration::from_secs(DEFAULT_REQUEST_KEY_RETENTION_HOURS * 3600),
        }
    }
}

impl TrackerConfig {
    /// Reads the tracker's settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let batch_size = positive(
            "TRACKER_REASSIGNMENT_BATCH_SIZE",
            &DEFAULT_REASSIGNMENT_BATCH_SIZE.to_string(),
        )?;
        let retention_hours = positive(
            "TRACKER_REQUEST_KEY_RETENTION_HOURS",
            &DEFAULT_REQUEST_KEY_RETENTION_HOURS.to_string(),
        )?;
        Ok(Self {
            reassignment_batch_size: usize::try_from(batch_size).map_err(|_| {
                ConfigError::Invalid {
                    key: "TRACKER_REASSIGNMENT_BATCH_SIZE",
                    reason: "is too large".to_owned(),
                }
            })?,
            request_key_retention: Duration::from_secs(retention_hours.saturating_mul(3600)),
        })
    }
}
