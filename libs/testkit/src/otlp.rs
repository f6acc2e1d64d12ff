//! An OTLP trace and metrics receiver in the test process: what an OpenTelemetry collector would
//! get from the services under test.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// One span as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// `service.name` of the exporting process.
    pub service: String,
    /// Trace id, lower-case hex.
    pub trace_id: String,
    /// Span id, lower-case hex.
    pub span_id: String,
    /// Parent span id, lower-case hex; empty for a root.
    pub parent_span_id: String,
    /// The span's name (`grpc request`, `consume event`).
    pub name: String,
    /// Its string attributes.
    pub attributes: Vec<(String, String)>,
}

impl ReceivedSpan {
    /// The value of a string attribute.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Receives spans and metrics over OTLP/gRPC on a free loopback port.
#[derive(Debug, Clone, Default)]
pub struct OtlpCollector {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    metrics: Arc<Mutex<Vec<(String, String)>>>,
}

/// `service.name` of an exporting resource.
fn service_of(resource: Option<&opentelemetry_proto::tonic::resource::v1::Resource>) -> String {
    resource
        .iter()
        .flat_map(|resource| &resource.attributes)
        .find(|attribute| attribute.key == "service.name")
        .and_then(|attribute| text(attribute.value.as_ref()))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl MetricsService for OtlpCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        for resource_metrics in request.into_inner().resource_metrics {
            let service = service_of(resource_metrics.resource.as_ref());
            for scope_metrics in resource_metrics.scope_metrics {
                for metric in scope_metrics.metrics {
                    self.metrics
                        .lock()
                        .unwrap()
                        .push((service.clone(), metric.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        Value::StringValue(text) => Some(text.clone()),
        Value::IntValue(number) => Some(number.to_string()),
        _ => None,
    }
}

#[tonic::async_trait]
impl TraceService for OtlpCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource_spans in request.into_inner().resource_spans {
            let service = service_of(resource_spans.resource.as_ref());
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    self.spans.lock().unwrap().push(ReceivedSpan {
                        service: service.clone(),
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        name: span.name,
                        attributes: span
                            .attributes
                            .iter()
                            .filter_map(|attribute| {
                                Some((attribute.key.clone(), text(attribute.value.as_ref())?))
                            })
                            .collect(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl OtlpCollector {
    /// Starts a collector; returns it and the endpoint to give services
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub async fn start() -> anyhow::Result<(Self, String)> {
        let collector = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address: SocketAddr = listener.local_addr()?;
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector.clone()))
                .add_service(MetricsServiceServer::new(collector.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        Ok((collector, format!("http://{address}")))
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Every metric received so far, as (`service.name`, metric name), once per export.
    pub fn metrics(&self) -> Vec<(String, String)> {
        self.metrics.lock().unwrap().clone()
    }
}
