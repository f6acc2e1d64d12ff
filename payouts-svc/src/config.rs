//! payouts's own settings, beside the ones every service has. None yet.

use ates_server::ConfigError;

/// Settings of payouts-svc.
#[derive(Debug, Clone, Copy, Default)]
pub struct PayoutsConfig {}

impl PayoutsConfig {
    /// Reads payouts's settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {})
    }
}
