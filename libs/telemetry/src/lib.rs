//! Telemetry for every aTES process: `tracing` logs (JSON when standard error is not a terminal),
//! OpenTelemetry span export over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, [`metrics`]
//! (scraped from `/metrics` or pushed over OTLP), and the W3C trace context that carries one trace
//! across gRPC calls and RabbitMQ messages.

pub mod metrics;

use std::collections::HashMap;
use std::io::IsTerminal;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The W3C `traceparent` header / AMQP header / envelope field name.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header / AMQP header / envelope field name.
pub const TRACESTATE: &str = "tracestate";

/// Keeps the tracer and meter providers alive; [`TelemetryGuard::shutdown`] flushes the last
/// spans and metrics.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meter_provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops span export. Call it on every exit path, after the server stopped.
    pub fn shutdown(mut self) {
        self.shutdown_provider();
    }

    fn shutdown_provider(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(error = %error, "telemetry shutdown failed");
        }
        if let Some(provider) = self.meter_provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(error = %error, "metrics shutdown failed");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_provider();
    }
}

/// Installs the global `tracing` subscriber of a service process.
///
/// The filter comes from `RUST_LOG` (default `info`). Logs are JSON unless standard error is a
/// terminal (`LOG_FORMAT=json|text` overrides). When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans are
/// exported there over OTLP/gRPC with `service.name` = `service_name`. Metrics go where
/// `METRICS_EXPORTER` says ([`metrics`]). Must be called inside the tokio runtime (the OTLP
/// exporters need it).
pub fn init(service_name: &'static str) -> anyhow::Result<TelemetryGuard> {
    let metrics_exporter = metrics::MetricsExporter::from_env()?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("LOG_FORMAT").ok().as_deref() {
        Some("json") => true,
        Some("text") => false,
        Some(other) => anyhow::bail!("LOG_FORMAT must be `json` or `text`, not `{other}`"),
        None => !std::io::stderr().is_terminal(),
    };
    let fmt_layer = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };

    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(otlp_provider(service_name, &endpoint)?),
        _ => None,
    };
    let otel_layer = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name)));

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()?;
    let meter_provider = metrics::init(service_name, metrics_exporter)?;
    Ok(TelemetryGuard {
        provider,
        meter_provider,
    })
}

fn otlp_provider(service_name: &'static str, endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The W3C trace context of the current span, as `(traceparent, tracestate)`; empty strings when
/// the current span is not being traced.
pub fn current_trace_context() -> (String, String) {
    trace_context_of(&tracing::Span::current())
}

/// The W3C trace context of `span`, as `(traceparent, tracestate)`; empty strings when it is not
/// being traced.
pub fn trace_context_of(span: &tracing::Span) -> (String, String) {
    let mut carrier = HashMap::new();
    let context = span.context();
    TraceContextPropagator::new().inject_context(&context, &mut MapCarrier(&mut carrier));
    (
        carrier.remove(TRACEPARENT).unwrap_or_default(),
        carrier.remove(TRACESTATE).unwrap_or_default(),
    )
}

/// Makes `span` a child of the remote operation described by `traceparent`/`tracestate`. Does
/// nothing when `traceparent` is empty or malformed.
pub fn set_remote_parent(span: &tracing::Span, traceparent: &str, tracestate: &str) {
    if traceparent.is_empty() {
        return;
    }
    let mut carrier = HashMap::from([
        (TRACEPARENT.to_owned(), traceparent.to_owned()),
        (TRACESTATE.to_owned(), tracestate.to_owned()),
    ]);
    let context = TraceContextPropagator::new().extract(&MapCarrier(&mut carrier));
    if context.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed, in which case there is no trace to join.
        let _ = span.set_parent(context);
    }
}

/// Makes `span` a child of the trace context in incoming HTTP/2 (gRPC) headers, if any.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    set_remote_parent(span, &header(TRACEPARENT), &header(TRACESTATE));
}

/// Writes the current span's trace context into outgoing HTTP/2 (gRPC) headers.
pub fn inject_into_headers(headers: &mut http::HeaderMap) {
    let (traceparent, tracestate) = current_trace_context();
    for (name, value) in [(TRACEPARENT, traceparent), (TRACESTATE, tracestate)] {
        if value.is_empty() {
            continue;
        }
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

/// The trace id of the current span in lower-case hex, or `None` when it is not being traced.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

struct MapCarrier<'a>(&'a mut HashMap<String, String>);

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for MapCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
