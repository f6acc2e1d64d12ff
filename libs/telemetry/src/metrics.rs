//! Metrics of every aTES process, as OpenTelemetry instruments, exported one of two ways, as
//! `METRICS_EXPORTER` says:
//! - `prometheus` (the default): kept in the process and served in the Prometheus text format
//!   at `GET /metrics` on the service's own port (see [`prometheus_text`]);
//! - `otlp`: pushed over OTLP/gRPC to `OTEL_EXPORTER_OTLP_ENDPOINT` every
//!   `OTEL_METRIC_EXPORT_INTERVAL` milliseconds (default 60,000);
//! - `none`: not recorded.
//!
//! Instruments are made from [`meter`]; the metric names and what they mean are listed in
//! ARCHITECTURE.md ("Metrics").

use std::sync::OnceLock;

use opentelemetry::metrics::Meter;
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// The Prometheus registry the process's metrics are gathered from, when it exports that way.
static REGISTRY: OnceLock<prometheus::Registry> = OnceLock::new();

/// How metrics leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsExporter {
    /// Scraped from `GET /metrics`.
    Prometheus,
    /// Pushed over OTLP.
    Otlp,
    /// Not recorded at all.
    None,
}

impl MetricsExporter {
    /// `METRICS_EXPORTER`: `prometheus` (default), `otlp` or `none`.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("METRICS_EXPORTER").ok().as_deref() {
            None | Some("" | "prometheus") => Ok(Self::Prometheus),
            Some("otlp") => Ok(Self::Otlp),
            Some("none") => Ok(Self::None),
            Some(other) => anyhow::bail!(
                "METRICS_EXPORTER must be `prometheus`, `otlp` or `none`, not `{other}`"
            ),
        }
    }
}

/// Installs the global meter provider for `service_name`; returns it for shutdown (`None` when
/// metrics are off).
pub(crate) fn init(
    service_name: &'static str,
    exporter: MetricsExporter,
) -> anyhow::Result<Option<SdkMeterProvider>> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name)
        .build();
    let provider = match exporter {
        MetricsExporter::None => return Ok(None),
        MetricsExporter::Prometheus => {
            let registry = REGISTRY.get_or_init(prometheus::Registry::new).clone();
            let reader = opentelemetry_prometheus::exporter()
                .with_registry(registry)
                .without_target_info()
                .build()?;
            SdkMeterProvider::builder()
                .with_reader(reader)
                .with_resource(resource)
                .build()
        }
        MetricsExporter::Otlp => {
            use opentelemetry_otlp::WithExportConfig as _;
            let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|endpoint| !endpoint.is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "METRICS_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT (where to push them)"
                    )
                })?;
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            SdkMeterProvider::builder()
                .with_periodic_exporter(exporter)
                .with_resource(resource)
                .build()
        }
    };
    opentelemetry::global::set_meter_provider(provider.clone());
    Ok(Some(provider))
}

/// The meter every aTES instrument is made from (a no-op one until [`crate::init`] ran, or when
/// metrics are off).
pub fn meter() -> Meter {
    opentelemetry::global::meter_provider().meter("ates")
}

/// The process's metrics in the Prometheus text format, or `None` when they are not exported
/// that way.
pub fn prometheus_text() -> Option<String> {
    let registry = REGISTRY.get()?;
    let mut text = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&registry.gather(), &mut text)
        .ok()?;
    Some(text)
}

/// The content type of [`prometheus_text`].
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket bounds for durations in seconds: 1 ms to 10 s.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histogram bucket bounds for counts of things in a batch: 1 to 1,000.
pub const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
