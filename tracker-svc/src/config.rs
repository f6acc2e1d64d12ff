//! The tracker's own settings, beside the ones every service has.

use std::time::Duration;

use ates_server::{ConfigError, env_or, positive};

/// Which schema version of the task events the tracker publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskEventsVersion {
    /// `ates.tracker.events.v1`: descriptions only. For a rolling upgrade, while some consumer
    /// does not read v2 yet, and for rolling back.
    V1,
    /// `ates.tracker.events.v2`: descriptions, titles and jira ids.
    #[default]
    V2,
}

impl std::str::FromStr for TaskEventsVersion {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim() {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            other => Err(format!("must be `v1` or `v2`, not `{other}`")),
        }
    }
}

/// Settings of tracker-svc.
#[derive(Debug, Clone, Copy)]
pub struct TrackerConfig {
    /// `TRACKER_REASSIGNMENT_BATCH_SIZE`: most assignments per TasksReassigned event (500).
    pub reassignment_batch_size: usize,
    /// `TRACKER_REQUEST_KEY_RETENTION_HOURS`: how long idempotency keys are kept (72 h); a retry
    /// after that acts as a new call.
    pub request_key_retention: Duration,
    /// `TRACKER_TASK_EVENTS_VERSION`: `v1` or `v2` (the default), the schema version of the task
    /// events published. Move it to `v2` only once every consumer reads v2.
    pub task_events_version: TaskEventsVersion,
    /// `TRACKER_BACKFILL_BATCH_SIZE`: most tasks the backfill worker gives a title and announces
    /// per transaction (1000).
    pub backfill_batch_size: usize,
    /// `TRACKER_BACKFILL_INTERVAL_SECONDS`: how long the backfill worker rests once nothing is
    /// left to do (60 s); rows a tracker of the previous release writes during an upgrade are
    /// picked up this often.
    pub backfill_interval: Duration,
}

/// Default most tasks per backfill transaction.
pub const DEFAULT_BACKFILL_BATCH_SIZE: usize = 1_000;
/// Default rest of the backfill worker when it has nothing to do, in seconds.
pub const DEFAULT_BACKFILL_INTERVAL_SECONDS: u64 = 60;

/// Default most assignments per TasksReassigned event.
pub const DEFAULT_REASSIGNMENT_BATCH_SIZE: usize = 500;
/// Default hours a request key (idempotency key) is kept.
pub const DEFAULT_REQUEST_KEY_RETENTION_HOURS: u64 = 72;

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            reassignment_batch_size: DEFAULT_REASSIGNMENT_BATCH_SIZE,
            request_key_retention: Duration::from_secs(DEFAULT_REQUEST_KEY_RETENTION_HOURS * 3600),
            task_events_version: TaskEventsVersion::default(),
            backfill_batch_size: DEFAULT_BACKFILL_BATCH_SIZE,
            backfill_interval: Duration::from_secs(DEFAULT_BACKFILL_INTERVAL_SECONDS),
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
        let backfill_batch_size = positive(
            "TRACKER_BACKFILL_BATCH_SIZE",
            &DEFAULT_BACKFILL_BATCH_SIZE.to_string(),
        )?;
        let too_large = |key: &'static str| ConfigError::Invalid {
            key,
            reason: "is too large".to_owned(),
        };
        Ok(Self {
            reassignment_batch_size: usize::try_from(batch_size)
                .map_err(|_| too_large("TRACKER_REASSIGNMENT_BATCH_SIZE"))?,
            request_key_retention: Duration::from_secs(retention_hours.saturating_mul(3600)),
            task_events_version: env_or("TRACKER_TASK_EVENTS_VERSION", "v2")?,
            backfill_batch_size: usize::try_from(backfill_batch_size)
                .map_err(|_| too_large("TRACKER_BACKFILL_BATCH_SIZE"))?,
            backfill_interval: Duration::from_secs(positive(
                "TRACKER_BACKFILL_INTERVAL_SECONDS",
                &DEFAULT_BACKFILL_INTERVAL_SECONDS.to_string(),
            )?),
        })
    }
}
