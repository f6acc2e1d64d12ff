//! payouts' own settings, beside the ones every service has.

use std::time::Duration;

use ates_server::{ConfigError, ServiceConfig, env_or, positive};
use lettre::message::Mailbox;
use secrecy::ExposeSecret;

use crate::domain::CloseSchedule;
use crate::operations::mail::MailSettings;

/// Settings of payouts-svc.
#[derive(Debug, Clone)]
pub struct PayoutsConfig {
    /// `BUSINESS_TIME_ZONE` and `PAYOUTS_CLOSE_GRACE_SECONDS` (60): business days, and how long
    /// after a day ends it is closed, so that events of its last seconds can arrive.
    pub schedule: CloseSchedule,
    /// `PAYOUTS_CLOSE_BATCH_SIZE` (500): accounts paid per transaction.
    pub close_batch_size: usize,
    /// `SMTP_URL` (required in production; locally `smtp://127.0.0.1:1025`),
    /// `PAYOUTS_EMAIL_FROM`, `PAYOUTS_SMTP_TIMEOUT_SECONDS` (10), `PAYOUTS_EMAIL_LEASE_SECONDS`
    /// (60), `PAYOUTS_EMAIL_RETRY_MAX_SECONDS` (300).
    pub mail: MailSettings,
    /// `PAYOUTS_EMAIL_SENDERS` (16): e-mails sent at once, each on an SMTP connection of its own.
    pub email_senders: usize,
}

const DEFAULT_FROM: &str = "aTES payouts <payouts@ates.local>";

impl Default for PayoutsConfig {
    fn default() -> Self {
        Self {
            schedule: CloseSchedule::new(
                ates_calendar::BusinessCalendar::utc(),
                Duration::from_secs(60),
            ),
            close_batch_size: 500,
            mail: MailSettings {
                smtp_url: "smtp://127.0.0.1:1025".to_owned(),
                from: DEFAULT_FROM.parse().expect("a literal mailbox"),
                send_timeout: Duration::from_secs(10),
                lease: Duration::from_secs(60),
                retry_max: Duration::from_secs(300),
                connections: 16,
            },
            email_senders: 16,
        }
    }
}

fn seconds(key: &'static str, default: &str) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(positive(key, default)?))
}

fn count(key: &'static str, default: &str) -> Result<usize, ConfigError> {
    usize::try_from(positive(key, default)?).map_err(|_| ConfigError::Invalid {
        key,
        reason: "is too large".to_owned(),
    })
}

impl PayoutsConfig {
    /// Reads payouts' settings from the environment.
    pub fn from_env(service: &ServiceConfig) -> Result<Self, ConfigError> {
        let grace: u64 = env_or("PAYOUTS_CLOSE_GRACE_SECONDS", "60")?;
        let from: String = env_or("PAYOUTS_EMAIL_FROM", DEFAULT_FROM)?;
        let from: Mailbox = from.parse().map_err(|error| ConfigError::Invalid {
            key: "PAYOUTS_EMAIL_FROM",
            reason: format!("must be an address like `{DEFAULT_FROM}`: {error}"),
        })?;
        let senders = count("PAYOUTS_EMAIL_SENDERS", "16")?;
        let send_timeout = seconds("PAYOUTS_SMTP_TIMEOUT_SECONDS", "10")?;
        let lease = seconds("PAYOUTS_EMAIL_LEASE_SECONDS", "60")?;
        if lease <= send_timeout {
            return Err(ConfigError::Invalid {
                key: "PAYOUTS_EMAIL_LEASE_SECONDS",
                reason: "must be longer than PAYOUTS_SMTP_TIMEOUT_SECONDS".to_owned(),
            });
        }
        Ok(Self {
            schedule: CloseSchedule::new(
                ates_server::business_calendar()?,
                Duration::from_secs(grace),
            ),
            close_batch_size: count("PAYOUTS_CLOSE_BATCH_SIZE", "500")?,
            mail: MailSettings {
                smtp_url: service
                    .secret("SMTP_URL", "smtp://127.0.0.1:1025")?
                    .expose_secret()
                    .to_owned(),
                from,
                send_timeout,
                lease,
                retry_max: seconds("PAYOUTS_EMAIL_RETRY_MAX_SECONDS", "300")?,
                connections: u32::try_from(senders).unwrap_or(u32::MAX),
            },
            email_senders: senders,
        })
    }
}
