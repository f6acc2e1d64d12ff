//! Typed configuration from environment variables, read once at start-up.
//!
//! Every key has a working local default, except when `ATES_PROFILE=production`: then the keys
//! that point at infrastructure must be set, and a missing one stops the process at once with
//! its name.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use ates_contracts::routing::Service;
use secrecy::SecretString;

use crate::ServiceSpec;

/// A configuration value is missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    /// A variable does not parse.
    #[error("environment variable {key} is invalid: {reason}")]
    Invalid {
        /// The variable.
        key: &'static str,
        /// Why it does not parse (the value is not repeated: it may be secret).
        reason: String,
    },
}

/// `key` parsed as `T`, or [`ConfigError::Missing`] naming it.
pub fn env_required<T>(key: &'static str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let value = std::env::var(key).map_err(|_| ConfigError::Missing(key))?;
    value.parse().map_err(|error: T::Err| ConfigError::Invalid {
        key,
        reason: error.to_string(),
    })
}

/// `key` parsed as `T`, or `default` when it is not set.
pub fn env_or<T>(key: &'static str, default: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let value = std::env::var(key).unwrap_or_else(|_| default.to_owned());
    value.parse().map_err(|error: T::Err| ConfigError::Invalid {
        key,
        reason: error.to_string(),
    })
}

/// A whole number setting that must be at least 1.
pub fn positive(key: &'static str, default: &str) -> Result<u64, ConfigError> {
    let value: u64 = env_or(key, default)?;
    if value == 0 {
        return Err(ConfigError::Invalid {
            key,
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(value)
}

/// The configuration every service has.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `GRPC_LISTEN_ADDR`: where the gRPC server listens (port 0 picks a free one).
    pub listen_address: SocketAddr,
    /// `DATABASE_URL`: the service's own PostgreSQL database.
    pub database_url: SecretString,
    /// `DATABASE_POOL_SIZE`: most open database connections.
    pub database_pool_size: usize,
    /// `AMQP_URL`: the RabbitMQ broker.
    pub amqp_url: SecretString,
    /// `AMQP_NAME_PREFIX`: put in front of every exchange and queue name (empty in production).
    pub amqp_name_prefix: String,
    /// `AUTH_URL`: auth-svc's gRPC endpoint, for token verification keys.
    pub auth_url: String,
    /// `TOKEN_ISSUER`: the only accepted `iss` of access tokens.
    pub token_issuer: String,
    /// `TOKEN_AUDIENCE`: the only accepted `aud` of access tokens.
    pub token_audience: String,
    /// `TOKEN_LEEWAY_SECONDS`: clock skew tolerated on a token's `exp` and `nbf`.
    pub token_leeway: Duration,
    /// `SHUTDOWN_GRACE_SECONDS`: how long in-flight calls get after SIGTERM.
    pub shutdown_grace: Duration,
    /// `INBOX_RETENTION_DAYS`: how long the ids of applied events are kept for deduplication.
    pub inbox_retention: Duration,
    /// `HOUSEKEEPING_INTERVAL_SECONDS`: how often expired rows (inbox ids, ...) are pruned.
    pub housekeeping_interval: Duration,
    /// `WEB_ALLOWED_ORIGINS`: the browser origins (`scheme://host[:port]`, comma-separated)
    /// whose pages may call the gRPC-web services; default: the local web app the BFF serves.
    pub web_allowed_origins: Vec<String>,
    /// `CONSUMER_PARK_EVENT_TYPES`: event types (full names, comma-separated) this service's
    /// consumers set aside unread into their dead-letter queues, with a reason naming the
    /// setting; each must be one the routing table sends the service. Empty by default. Lifting
    /// it and replaying (`ates-dead-letters replay`) applies each event once.
    pub parked_event_types: Vec<String>,
    /// `METRICS_LISTEN_ADDR`: where `GET /metrics` is served, apart from the gRPC port (the Helm
    /// chart sets it, so that an Ingress routing the gRPC port never exposes the metrics). Unset:
    /// on the gRPC port.
    pub metrics_listen_address: Option<SocketAddr>,
    /// `ATES_PROFILE=production`: no local defaults for infrastructure and secrets.
    pub production: bool,
}

/// `CONSUMER_PARK_EVENT_TYPES` from `raw`, each an event type routed to `service`.
fn parked_event_types(service: Service, raw: &str) -> Result<Vec<String>, ConfigError> {
    const KEY: &str = "CONSUMER_PARK_EVENT_TYPES";
    raw.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let routed = ates_contracts::routing::route_of(name)
                .is_some_and(|route| route.consumers.contains(&service));
            if routed {
                Ok(name.to_owned())
            } else {
                Err(ConfigError::Invalid {
                    key: KEY,
                    reason: format!(
                        "`{name}` is not an event type the routing table sends {}",
                        service.binary_name()
                    ),
                })
            }
        })
        .collect()
}

/// The default gRPC port of each service.
pub const fn default_port(service: Service) -> u16 {
    match service {
        Service::Auth => 50051,
        Service::Tracker => 50052,
        Service::Accounting => 50053,
        Service::Payouts => 50054,
        Service::Bff => 50055,
        Service::Analytics => 50056,
    }
}

impl ServiceConfig {
    /// Reads the configuration of a service from the process environment. In production the
    /// database and broker URLs are required only when the service uses them.
    pub fn from_env(spec: &ServiceSpec) -> Result<Self, ConfigError> {
        let service = spec.service;
        let production = match std::env::var("ATES_PROFILE").as_deref() {
            Ok("production") => true,
            Ok("local") | Err(_) => false,
            Ok(_) => {
                return Err(ConfigError::Invalid {
                    key: "ATES_PROFILE",
                    reason: "must be `local` or `production`".to_owned(),
                });
            }
        };
        // Required in production only where the service uses it: the BFF has no database and
        // no broker, and its deployment gives it neither URL.
        let infrastructure =
            |key: &'static str, used: bool, local_default: String| -> Result<String, ConfigError> {
                if production && used {
                    env_required(key)
                } else {
                    env_or(key, &local_default)
                }
            };
        let database_url = infrastructure(
            "DATABASE_URL",
            spec.uses_database,
            format!("postgres://postgres@127.0.0.1:5432/ates_{}", service.name()),
        )?;
        let amqp_url = infrastructure(
            "AMQP_URL",
            spec.uses_broker,
            "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
        )?;
        let auth_url = infrastructure(
            "AUTH_URL",
            true,
            format!("http://127.0.0.1:{}", default_port(Service::Auth)),
        )?;
        let listen_default = if production {
            format!("0.0.0.0:{}", default_port(service))
        } else {
            format!("127.0.0.1:{}", default_port(service))
        };
        Ok(Self {
            listen_address: env_or("GRPC_LISTEN_ADDR", &listen_default)?,
            database_url: SecretString::from(database_url),
            database_pool_size: env_or("DATABASE_POOL_SIZE", "16")?,
            amqp_url: SecretString::from(amqp_url),
            amqp_name_prefix: env_or("AMQP_NAME_PREFIX", "")?,
            auth_url,
            token_issuer: env_or("TOKEN_ISSUER", "ates-auth")?,
            token_audience: env_or("TOKEN_AUDIENCE", "ates")?,
            token_leeway: Duration::from_secs(env_or("TOKEN_LEEWAY_SECONDS", "5")?),
            shutdown_grace: Duration::from_secs(env_or("SHUTDOWN_GRACE_SECONDS", "10")?),
            inbox_retention: Duration::from_secs(
                positive("INBOX_RETENTION_DAYS", "30")?.saturating_mul(24 * 60 * 60),
            ),
            housekeeping_interval: Duration::from_secs(positive(
                "HOUSEKEEPING_INTERVAL_SECONDS",
                "3600",
            )?),
            // Only services browsers call read it; in production it must be set for them.
            web_allowed_origins: if !spec.grpc_web {
                Vec::new()
            } else if production {
                origins(&env_required::<String>("WEB_ALLOWED_ORIGINS")?)?
            } else {
                origins(&env_or::<String>(
                    "WEB_ALLOWED_ORIGINS",
                    &format!(
                        "http://127.0.0.1:{port},http://localhost:{port}",
                        port = default_port(Service::Bff)
                    ),
                )?)?
            },
            parked_event_types: parked_event_types(
                service,
                &env_or::<String>("CONSUMER_PARK_EVENT_TYPES", "")?,
            )?,
            metrics_listen_address: match env_or::<String>("METRICS_LISTEN_ADDR", "")?.trim() {
                "" => None,
                _ => Some(env_required("METRICS_LISTEN_ADDR")?),
            },
            production,
        })
    }

    /// A secret setting: required in production; locally `local_default`, which is public and
    /// therefore only fit for a developer's machine.
    pub fn secret(
        &self,
        key: &'static str,
        local_default: &str,
    ) -> Result<SecretString, ConfigError> {
        let value: String = if self.production {
            env_required(key)?
        } else {
            env_or(key, local_default)?
        };
        if value.is_empty() {
            return Err(ConfigError::Invalid {
                key,
                reason: "must not be empty".to_owned(),
            });
        }
        Ok(SecretString::from(value))
    }
}

/// Reads a comma-separated list of browser origins. An origin is `http` or `https`, a host and
/// an optional port, with no path; `*` is refused (any site could then call with a user's token).
pub fn origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        key: "WEB_ALLOWED_ORIGINS",
        reason,
    };
    raw.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .ok_or_else(|| {
                    invalid(format!("`{origin}` must start with http:// or https://"))
                })?;
            if rest.is_empty() || rest.contains(['/', '*', ' ', '?', '#']) {
                return Err(invalid(format!(
                    "`{origin}` must be scheme://host[:port], without a path or wildcard"
                )));
            }
            Ok(origin.to_owned())
        })
        .collect()
}

/// `BUSINESS_TIME_ZONE`: the zone business days are counted in, an IANA name or a fixed offset
/// such as `+05:17:30` (default `UTC`). One reading for every service that dates money.
pub fn business_calendar() -> Result<ates_calendar::BusinessCalendar, ConfigError> {
    env_or("BUSINESS_TIME_ZONE", "UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_scheme_host_and_port_and_never_a_wildcard() {
        assert_eq!(
            origins("http://127.0.0.1:50055, https://ates.example.com").unwrap(),
            vec!["http://127.0.0.1:50055", "https://ates.example.com"]
        );
        assert!(origins("").unwrap().is_empty());
        for bad in [
            "*",
            "http://*",
            "ates.example.com",
            "https://ates.example.com/app",
            "ftp://x",
        ] {
            let error = origins(bad).unwrap_err().to_string();
            assert!(error.contains("WEB_ALLOWED_ORIGINS"), "{bad}: {error}");
        }
    }

    #[test]
    fn parked_event_types_are_routed_to_the_service_or_refused_naming_the_setting() {
        assert_eq!(
            parked_event_types(
                Service::Accounting,
                " ates.tracker.events.v2.TaskAdded,ates.tracker.events.v2.TasksReassigned ,"
            )
            .unwrap(),
            vec![
                "ates.tracker.events.v2.TaskAdded",
                "ates.tracker.events.v2.TasksReassigned"
            ]
        );
        assert!(
            parked_event_types(Service::Accounting, "")
                .unwrap()
                .is_empty()
        );
        for bad in [
            "ates.tracker.events.v2.TaskCreated", // analytics', not accounting's
            "ates.tracker.events.v3.TaskAdded",
            "TaskAdded",
        ] {
            let error = parked_event_types(Service::Accounting, bad)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("CONSUMER_PARK_EVENT_TYPES") && error.contains(bad),
                "{bad}: {error}"
            );
        }
    }
}
