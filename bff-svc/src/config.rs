//! bff's own settings, beside the ones every service has.

use std::time::Duration;

use ates_contracts::routing::Service;
use ates_server::{ConfigError, default_port, env_or, env_required, positive};

/// Settings of bff-svc.
#[derive(Debug, Clone)]
pub struct BffConfig {
    /// `ACCOUNTING_URL`: accounting-svc's gRPC endpoint (required in production).
    pub accounting_url: String,
    /// `BFF_ACCOUNTING_TIMEOUT_MS`: how long a call to accounting may take before the caller gets
    /// UNAVAILABLE (3000 ms).
    pub accounting_timeout: Duration,
}

/// Default deadline of a call to accounting, in milliseconds.
pub const DEFAULT_ACCOUNTING_TIMEOUT_MS: u64 = 3_000;

impl BffConfig {
    /// Local defaults: accounting on its default port.
    pub fn local() -> Self {
        Self {
            accounting_url: format!("http://127.0.0.1:{}", default_port(Service::Accounting)),
            accounting_timeout: Duration::from_millis(DEFAULT_ACCOUNTING_TIMEOUT_MS),
        }
    }

    /// Reads bff's settings from the environment; in `production` `ACCOUNTING_URL` must be set.
    pub fn from_env(production: bool) -> Result<Self, ConfigError> {
        let local = Self::local();
        Ok(Self {
            accounting_url: if production {
                env_required("ACCOUNTING_URL")?
            } else {
                env_or("ACCOUNTING_URL", &local.accounting_url)?
            },
            accounting_timeout: Duration::from_millis(positive(
                "BFF_ACCOUNTING_TIMEOUT_MS",
                &DEFAULT_ACCOUNTING_TIMEOUT_MS.to_string(),
            )?),
        })
    }
}
