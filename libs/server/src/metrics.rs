//! The edge's and the process's own metrics: every gRPC call's duration by method and status,
//! the database pool's use, and the `GET /metrics` route that serves them all to Prometheus.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{Request, Response};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tower::{Layer, Service};

use ates_messaging::DbPool;
use ates_telemetry::metrics::{PROMETHEUS_CONTENT_TYPE, SECONDS_BUCKETS, meter, prometheus_text};

/// Every gRPC method any aTES server can serve, as request paths (`/ates.tracker.v1.TrackerService/CreateTask`):
/// the aTES contracts, health and reflection. Only these name an `rpc.method` series; any other
/// path a caller sends, with or without a token, is `unknown`.
fn known_methods() -> &'static HashSet<String> {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known = HashSet::new();
        for encoded in [
            ates_contracts::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let Ok(set) = <prost_types::FileDescriptorSet as prost::Message>::decode(encoded)
            else {
                continue;
            };
            for file in set.file {
                for service in &file.service {
                    for method in &service.method {
                        known.insert(format!(
                            "/{}.{}/{}",
                            file.package(),
                            service.name(),
                            method.name()
                        ));
                    }
                }
            }
        }
        known
    })
}

/// Records `rpc.server.duration` (seconds) for every gRPC call that passes, by `rpc.method` (the
/// request path) and `rpc.grpc.status_code`. The token layer sits inside it, so refused calls are
/// counted with their UNAUTHENTICATED or PERMISSION_DENIED.
#[derive(Debug, Clone)]
pub(crate) struct RpcMetricsLayer {
    duration: Histogram<f64>,
}

impl RpcMetricsLayer {
    pub(crate) fn new() -> Self {
        Self {
            duration: meter()
                .f64_histogram("rpc.server.duration")
                .with_unit("s")
                .with_description("gRPC calls served: duration until the answer's headers, by method and status code")
                .with_boundaries(SECONDS_BUCKETS.to_vec())
                .build(),
        }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics {
            inner,
            duration: self.duration.clone(),
        }
    }
}

/// See [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RpcMetrics<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S, B, R> Service<Request<B>> for RpcMetrics<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let answer = self.inner.call(request);
        let duration = self.duration.clone();
        Box::pin(async move {
            let response = answer.await?;
            // A failed unary call answers with its status in the headers (trailers-only); a
            // successful one carries OK in the trailers after the message.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<i64>().ok())
                .unwrap_or(0);
            // Unknown paths are one label, so that no caller can grow the series without bound.
            let method = if known_methods().contains(&method) {
                method
            } else {
                "unknown".to_owned()
            };
            duration.record(
                started.elapsed().as_secs_f64(),
                &[
                    KeyValue::new("rpc.method", method),
                    KeyValue::new("rpc.grpc.status_code", code),
                ],
            );
            Ok(response)
        })
    }
}

/// Observes the pool's connections: `db.client.connections.usage` (by `state`, `idle` or `used`),
/// `db.client.connections.max` and `db.client.connections.pending_requests` (callers waiting for
/// a connection).
pub(crate) fn observe_pool(pool: &DbPool) {
    let meter = meter();
    let usage = pool.clone();
    meter
        .i64_observable_gauge("db.client.connections.usage")
        .with_description("Database connections of the pool, by state (idle or used)")
        .with_callback(move |observer| {
            let status = usage.status();
            let idle = i64::try_from(status.available).unwrap_or(i64::MAX);
            let open = i64::try_from(status.size).unwrap_or(i64::MAX);
            observer.observe(idle, &[KeyValue::new("state", "idle")]);
            observer.observe((open - idle).max(0), &[KeyValue::new("state", "used")]);
        })
        .build();
    for (name, description, read) in [
        (
            "db.client.connections.max",
            "Most connections the pool may open (DATABASE_POOL_SIZE)",
            (|status| status.max_size) as fn(deadpool::Status) -> usize,
        ),
        (
            "db.client.connections.pending_requests",
            "Callers waiting for a database connection",
            |status| status.waiting,
        ),
    ] {
        let pool = pool.clone();
        meter
            .i64_observable_gauge(name)
            .with_description(description)
            .with_callback(move |observer| {
                observer.observe(i64::try_from(read(pool.status())).unwrap_or(i64::MAX), &[]);
            })
            .build();
    }
}

/// `GET /metrics`: the process's metrics in the Prometheus text format (404 when metrics are not
/// exported that way).
pub(crate) fn routes() -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(async || match prometheus_text() {
            Some(text) => (
                http::StatusCode::OK,
                [(http::header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
                text,
            ),
            None => (
                http::StatusCode::NOT_FOUND,
                [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "metrics are not exported for scraping here (METRICS_EXPORTER)\n".to_owned(),
            ),
        }),
    )
}
