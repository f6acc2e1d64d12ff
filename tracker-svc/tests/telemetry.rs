//! The real tracker-svc binary exports its spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set, continues the caller's W3C trace from gRPC metadata, and flushes on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ates_testkit::{
    ChildProcess, HealthStatus, OtlpCollector, TestBroker, TestDatabase, wait_for_health,
};

#[tokio::test(flavor = "multi_thread")]
async fn spans_reach_the_otlp_endpoint_in_the_callers_trace() {
    let (collector, collector_endpoint) = OtlpCollector::start().await.unwrap();

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
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_endpoint)
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
    let spans = collector.spans();
    assert!(
        spans.iter().any(|span| span.service == "tracker-svc"
            && span.trace_id == trace_id
            && span.name == "grpc request"),
        "no tracker-svc span in trace {trace_id}; received: {spans:?}"
    );
}
