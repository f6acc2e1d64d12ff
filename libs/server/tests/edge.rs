//! One port serves gRPC over HTTP/2, gRPC-web over HTTP/1.1, and a service's plain HTTP routes.

#![allow(clippy::unwrap_used)]

use ates_contracts::routing::Service;
use ates_server::{ServiceSpec, Wiring};
use ates_testkit::{HealthStatus, RunningService, TestBroker, grpc_web_call, health_status, http1};
use bytes::Bytes;
use http_body_util::Full;

fn spec() -> ServiceSpec {
    ServiceSpec {
        service: Service::Bff,
        grpc_services: &[],
        public_methods: &[],
        migrations: None,
        uses_database: false,
        uses_broker: false,
        grpc_web: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_routes_grpc_and_grpc_web_share_one_port() {
    let broker = TestBroker::shared();
    let config = ates_testkit::service_config("postgres://unused", &broker, "http://127.0.0.1:1");
    let service = RunningService::start(spec(), config, |_| {
        Ok(Wiring {
            http_routes: Some(axum::Router::new().route(
                "/hello.txt",
                axum::routing::get(|| async { "hello from plain HTTP" }),
            )),
            ..Wiring::default()
        })
    })
    .await
    .unwrap();

    let page = http1(
        service.address(),
        http::Request::get(format!("http://{}/hello.txt", service.address()))
            .header("host", service.address().to_string())
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.body(), "hello from plain HTTP");

    let missing = http1(
        service.address(),
        http::Request::get(format!("http://{}/nothing-here", service.address()))
            .header("host", service.address().to_string())
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);

    assert_eq!(
        health_status(&service.endpoint(), "").await,
        HealthStatus::Serving,
        "gRPC over HTTP/2 on the same port"
    );
    let web_health = grpc_web_call(
        service.address(),
        "/grpc.health.v1.Health/Check",
        &tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        },
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        web_health.grpc_status,
        Some(0),
        "{}",
        web_health.grpc_message
    );
    assert_eq!(
        web_health
            .decode::<tonic_health::pb::HealthCheckResponse>()
            .unwrap()
            .status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}
