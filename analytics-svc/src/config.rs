//! analytics' own settings, beside the ones every service has.

use ates_server::ConfigError;

use crate::domain::BusinessCalendar;

/// Settings of analytics-svc.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyticsConfig {
    /// `BUSINESS_TIME_ZONE`: the zone business days are counted in, an IANA name or a fixed
    /// offset such as `+05:17:30` (default `UTC`); the same rule as accounting's.
    pub calendar: BusinessCalendar,
}

impl AnalyticsConfig {
    /// Reads analytics' settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            calendar: ates_server::business_calendar()?,
        })
    }
}
