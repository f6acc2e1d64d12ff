//! auth-svc's own settings, beside the ones every service has.

use std::time::Duration;

use ates_server::{ConfigError, ServiceConfig, env_or};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::domain::{Email, TrustedProxies};

/// Settings of auth-svc.
pub struct AuthConfig {
    /// `AUTH_BEAK_KEY`: the HMAC key beaks are digested with. Changing it invalidates every beak.
    pub beak_key: SecretString,
    /// `AUTH_KEY_ENCRYPTION_KEY`: 32 bytes, base64; encrypts the signing keys at rest. Changing it
    /// makes the stored signing keys unreadable.
    pub key_encryption_key: SecretBox<[u8; 32]>,
    /// `AUTH_TOKEN_LIFETIME_SECONDS`: how long an access token is valid (default 900).
    pub token_lifetime: Duration,
    /// `AUTH_KEY_RETIREMENT_LEEWAY_SECONDS`: how much longer than the token lifetime a retired
    /// key keeps verifying, for clock skew between services (default 60).
    pub key_retirement_leeway: Duration,
    /// `AUTH_BOOTSTRAP_ADMIN_EMAIL` and `AUTH_BOOTSTRAP_ADMIN_BEAK`: the first admin, created at
    /// start-up when no admin exists. Both or neither.
    pub bootstrap_admin: Option<(Email, SecretString)>,
    /// `AUTH_SIGN_IN_MAX_FAILURES`: failed sign-ins one client may make per window (default 10).
    pub sign_in_max_failures: u32,
    /// `AUTH_SIGN_IN_WINDOW_SECONDS`: the window, and how long a client is then refused (default 60).
    pub sign_in_window: Duration,
    /// `AUTH_TRUSTED_PROXIES`: comma-separated CIDRs or addresses of the proxies (ingress, load
    /// balancer) whose forwarding header names the client; empty (the default) trusts none, and
    /// the peer address is the client. `AUTH_TRUSTED_PROXY_HEADER` says which header they write:
    /// `x-forwarded-for` (the default) or `forwarded`; the other is never read.
    pub trusted_proxies: TrustedProxies,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AuthConfig")
            .field("token_lifetime", &self.token_lifetime)
            .field(
                "bootstrap_admin",
                &self.bootstrap_admin.as_ref().map(|_| "[set]"),
            )
            .field("sign_in_max_failures", &self.sign_in_max_failures)
            .field("sign_in_window", &self.sign_in_window)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

/// Local-only defaults: public, so never valid in production.
const LOCAL_BEAK_KEY: &str = "ates-local-beak-key-not-for-production";
const LOCAL_KEY_ENCRYPTION_KEY: &str = "YXRlcy1sb2NhbC1rZXktZW5jcnlwdGlvbi1rZXkhISE=";

impl AuthConfig {
    /// Reads auth's settings from the environment.
    pub fn from_env(service: &ServiceConfig) -> Result<Self, ConfigError> {
        let beak_key = service.secret("AUTH_BEAK_KEY", LOCAL_BEAK_KEY)?;
        let key_encryption_key =
            service.secret("AUTH_KEY_ENCRYPTION_KEY", LOCAL_KEY_ENCRYPTION_KEY)?;
        let key_encryption_key = decode_key(key_encryption_key.expose_secret())?;
        let bootstrap_admin = match (
            std::env::var("AUTH_BOOTSTRAP_ADMIN_EMAIL")
                .ok()
                .filter(|value| !value.is_empty()),
            std::env::var("AUTH_BOOTSTRAP_ADMIN_BEAK")
                .ok()
                .filter(|value| !value.is_empty()),
        ) {
            (None, None) => None,
            (Some(email), Some(beak)) => {
                let email = Email::parse(&email).map_err(|error| ConfigError::Invalid {
                    key: "AUTH_BOOTSTRAP_ADMIN_EMAIL",
                    reason: error.to_string(),
                })?;
                if beak.len() < crate::domain::beak::MIN_LENGTH {
                    return Err(ConfigError::Invalid {
                        key: "AUTH_BOOTSTRAP_ADMIN_BEAK",
                        reason: format!(
                            "must be at least {} characters of random text (128 bits)",
                            crate::domain::beak::MIN_LENGTH
                        ),
                    });
                }
                Some((email, SecretString::from(beak)))
            }
            (Some(_), None) => return Err(ConfigError::Missing("AUTH_BOOTSTRAP_ADMIN_BEAK")),
            (None, Some(_)) => return Err(ConfigError::Missing("AUTH_BOOTSTRAP_ADMIN_EMAIL")),
        };
        let token_lifetime_seconds: u64 = env_or("AUTH_TOKEN_LIFETIME_SECONDS", "900")?;
        if token_lifetime_seconds == 0 {
            return Err(ConfigError::Invalid {
                key: "AUTH_TOKEN_LIFETIME_SECONDS",
                reason: "must be positive".to_owned(),
            });
        }
        Ok(Self {
            beak_key,
            key_encryption_key,
            token_lifetime: Duration::from_secs(token_lifetime_seconds),
            key_retirement_leeway: Duration::from_secs(env_or(
                "AUTH_KEY_RETIREMENT_LEEWAY_SECONDS",
                "60",
            )?),
            bootstrap_admin,
            sign_in_max_failures: env_or("AUTH_SIGN_IN_MAX_FAILURES", "10")?,
            sign_in_window: Duration::from_secs(env_or("AUTH_SIGN_IN_WINDOW_SECONDS", "60")?),
            trusted_proxies: env_or::<TrustedProxies>("AUTH_TRUSTED_PROXIES", "")?
                .with_header(env_or("AUTH_TRUSTED_PROXY_HEADER", "x-forwarded-for")?),
        })
    }
}

fn decode_key(encoded: &str) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        key: "AUTH_KEY_ENCRYPTION_KEY",
        reason: reason.to_owned(),
    };
    let bytes = STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid("must be base64"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| invalid("must decode to exactly 32 bytes"))?;
    Ok(SecretBox::new(Box::new(key)))
}
