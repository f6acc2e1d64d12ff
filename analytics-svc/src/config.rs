//! analytics's own settings, beside the ones every service has. None yet.

use ates_server::ConfigError;

/// Settings of analytics-svc.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyticsConfig {}

impl AnalyticsConfig {
    /// Reads analytics's settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {})
    }
}
