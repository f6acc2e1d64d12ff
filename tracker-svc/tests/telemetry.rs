//! The real tracker-svc binary exports its spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set, continues the caller's W3C trace from gRPC metadata, and flushes on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ates_testkit::{ChildProcess, HealthStatus, TestBroker, TestDatabase, wait_for_health};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// An OTLP trace receiver: what an OpenTelemetry collector would get.
#[derive(Clone, Default)]
struct Collector {
    /// (service.name, trace id in hex, span name) of every span received.
    spans: Arc<Mutex<Vec<(String, String, String)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource_spans in request.into_inner().resource_spans {
            let service_name = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(
                    |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(name) => Some(name.clone()),
                        _ => None,
                    },
                )
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    let trace_id: String = span
                        .trace_id
                        .iter()
                        .map(|byte| format!("{byte:02x}"))
                        .collect();
                    self.spans
                        .lock()
                        .unwrap()
                        .push((service_name.clone(), trace_id, span.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_reach_the_otlp_endpoint_in_the_callers_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let database = TestDatabase::create().await.unwrap();
    let mut broker = TestBroker::shared();
    let topology = ates_messaging::Topology::new(broker.prefix());
    broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
    let port = ates_testkit::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracker-svc"));
    command
        .env("GRPC_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", database.url())
        .env("AMQP_URL", broker.url())
        .env("AMQP_NAME_PREFIX", broker.prefix())
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_address}"),
        )
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json");
    let mut service = ChildProcess::spawn("tracker-svc", command).unwrap();
    assert_eq!(
        wait_for_health(&endpoint, HealthStatus::Serving, Duration::from_secs(30)).await,
        HealthStatus::Serving
    );

    // A call that carries a W3C trace context, as any traced client would send it.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    health.check(request).await.unwrap();

    // SIGTERM: the service must flush its last spans before it exits.
    let status = service.terminate(Duration::from_secs(15)).await.unwrap();
    assert!(status.success());
    let spans = collector.spans.lock().unwrap().clone();
    assert!(
        spans
            .iter()
            .any(|(service, id, name)| service == "tracker-svc"
                && id == trace_id
                && name == "grpc request"),
        "no tracker-svc span in trace {trace_id}; received: {spans:?}"
    );
}
