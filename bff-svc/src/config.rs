//! bff's own settings, beside the ones every service has. None yet.

use ates_server::ConfigError;

/// Settings of bff-svc.
#[derive(Debug, Clone, Copy, Default)]
pub struct BffConfig {}

impl BffConfig {
    /// Reads bff's settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {})
    }
}
