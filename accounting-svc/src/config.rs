//! Accounting's own settings, beside the ones every service has.

use ates_server::ConfigError;

use crate::domain::BusinessCalendar;

/// Settings of accounting-svc.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountingConfig {
    /// `BUSINESS_TIME_ZONE`: the zone business days are counted in, an IANA name or a fixed
    /// offset such as `+05:17:30` (default `UTC`).
    pub calendar: BusinessCalendar,
}

impl AccountingConfig {
    /// Reads accounting's settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            calendar: ates_server::business_calendar()?,
        })
    }
}
