//! bff's own settings, beside the ones every service has.

use std::path::PathBuf;
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
    /// The web app and where its page calls the services.
    pub web: WebConfig,
}

/// The web app the BFF serves.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `BFF_WEB_ROOT`: the built app (`web/dist`).
    pub root: PathBuf,
    /// `WEB_AUTH_URL`: where the page calls auth; empty is the page's own origin (behind one
    /// ingress that routes by gRPC service). Locally `http://127.0.0.1:50051`.
    pub auth_url: String,
    /// `WEB_TRACKER_URL`: likewise for the tracker.
    pub tracker_url: String,
    /// `WEB_ANALYTICS_URL`: likewise for analytics.
    pub analytics_url: String,
    /// `WEB_PAYOUTS_URL`: likewise for payouts.
    pub payouts_url: String,
}

fn local_url(service: Service) -> String {
    format!("http://127.0.0.1:{}", default_port(service))
}

/// Default deadline of a call to accounting, in milliseconds.
pub const DEFAULT_ACCOUNTING_TIMEOUT_MS: u64 = 3_000;

impl BffConfig {
    /// Local defaults: accounting on its default port.
    pub fn local() -> Self {
        Self {
            accounting_url: local_url(Service::Accounting),
            accounting_timeout: Duration::from_millis(DEFAULT_ACCOUNTING_TIMEOUT_MS),
            web: WebConfig {
                root: PathBuf::from("web/dist"),
                auth_url: local_url(Service::Auth),
                tracker_url: local_url(Service::Tracker),
                analytics_url: local_url(Service::Analytics),
                payouts_url: local_url(Service::Payouts),
            },
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
            web: WebConfig {
                root: env_or("BFF_WEB_ROOT", "web/dist")?,
                auth_url: env_or("WEB_AUTH_URL", &local.web.auth_url)?,
                tracker_url: env_or("WEB_TRACKER_URL", &local.web.tracker_url)?,
                analytics_url: env_or("WEB_ANALYTICS_URL", &local.web.analytics_url)?,
                payouts_url: env_or("WEB_PAYOUTS_URL", &local.web.payouts_url)?,
            },
        })
    }
}
