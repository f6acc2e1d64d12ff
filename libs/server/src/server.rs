//! The network edge of a service: one port serving gRPC (HTTP/2), gRPC-web (HTTP/1.1 and
//! HTTP/2) for browsers, and plain HTTP routes, with health, reflection and the token layer.
//!
//! ```text
//! CORS (web services only; answers preflights, allows WEB_ALLOWED_ORIGINS)
//!  └─ by content type:
//!     ├─ application/grpc*: gRPC-web translation (web services only)
//!     │    └─ call metrics └─ caller context (for outgoing calls) └─ token layer └─ gRPC routes
//!     └─ anything else: `GET /metrics`, and the service's plain HTTP routes (404 for the rest)
//! ```

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body as AxumBody;
use futures::future::BoxFuture;
use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderValue, Method, Request, Response};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::server::TcpIncoming;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use ates_token::AuthLayer;

use crate::metrics::{self, RpcMetricsLayer};
use crate::propagation::CallerContextLayer;
use crate::{ServiceConfig, ServiceSpec};

type GrpcStack = BoxCloneSyncService<Request<AxumBody>, Response<Body>, Infallible>;

/// What every gRPC service of the process answers: the business routes, health, reflection.
pub(crate) fn grpc_routes(
    spec: &ServiceSpec,
    mut routes: RoutesBuilder,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> anyhow::Result<Routes> {
    let reflection = || {
        spec.grpc_services.iter().fold(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(ates_contracts::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name("grpc.health.v1.Health"),
            |builder, name| builder.with_service_name(*name),
        )
    };
    routes
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    Ok(routes.routes())
}

/// The whole edge: CORS, then gRPC (through `auth`) or plain HTTP by content type.
pub(crate) struct Edge {
    cors: Option<CorsLayer>,
    dispatch: Dispatch,
}

impl Edge {
    pub(crate) fn new(
        spec: &ServiceSpec,
        config: &ServiceConfig,
        routes: Routes,
        auth: AuthLayer,
        http_routes: Option<axum::Router>,
    ) -> anyhow::Result<Self> {
        let authenticated =
            RpcMetricsLayer::new().layer(CallerContextLayer.layer(auth.layer(routes)));
        let grpc: GrpcStack = if spec.grpc_web {
            BoxCloneSyncService::new(tonic_web::GrpcWebLayer::new().layer(authenticated))
        } else {
            BoxCloneSyncService::new(authenticated)
        };
        let cors = if spec.grpc_web {
            Some(cors(&config.web_allowed_origins)?)
        } else {
            None
        };
        Ok(Self {
            cors,
            dispatch: Dispatch {
                grpc,
                // Every service answers `GET /metrics` beside the routes of its own, unless it
                // serves them on a port of their own (`METRICS_LISTEN_ADDR`).
                http: match (http_routes, config.metrics_listen_address) {
                    (Some(routes), None) => Some(routes.merge(metrics::routes())),
                    (None, None) => Some(metrics::routes()),
                    (routes, Some(_)) => routes,
                },
            },
        })
    }

    /// Serves on `listener` until `stopping` resolves; calls still running then get `grace`
    /// (counted from when `shutdown` fires) before they are cut off.
    pub(crate) async fn serve(
        self,
        service_name: &'static str,
        listener: TcpListener,
        stopping: impl Future<Output = ()> + Send + 'static,
        shutdown: &CancellationToken,
        grace: std::time::Duration,
    ) -> anyhow::Result<()> {
        // HTTP/1.1 for gRPC-web, the plain routes and Prometheus's scrapes of `/metrics`.
        let accept_http1 = true;
        let routes = Routes::from(axum::Router::new().fallback_service(self.dispatch));
        let server = tonic::transport::Server::builder()
            .accept_http1(accept_http1)
            .trace_fn(move |request| {
                let span = if request
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .is_some_and(|content_type| content_type.starts_with("application/grpc"))
                {
                    tracing::info_span!(
                        "grpc request",
                        service = service_name,
                        rpc.method = %request.uri().path(),
                        otel.kind = "server",
                    )
                } else {
                    tracing::info_span!(
                        "http request",
                        service = service_name,
                        http.method = %request.method(),
                        url.path = %request.uri().path(),
                        otel.kind = "server",
                    )
                };
                ates_telemetry::set_parent_from_headers(&span, request.headers());
                span
            })
            .layer(tower::util::option_layer(self.cors))
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                stopping,
            );
        let mut server = tokio::spawn(server);
        let finished = tokio::select! {
            finished = &mut server => Some(finished),
            () = shutdown.cancelled() => None,
        };
        let finished = match finished {
            Some(finished) => finished,
            None => match tokio::time::timeout(grace, &mut server).await {
                Ok(finished) => finished,
                Err(_) => {
                    tracing::warn!(
                        grace_seconds = grace.as_secs(),
                        "in-flight calls did not finish in time"
                    );
                    server.abort();
                    Ok(Ok(()))
                }
            },
        };
        finished??;
        Ok(())
    }
}

/// CORS for the browser's gRPC-web calls: only the configured origins, no credentials (the
/// token travels in a header), and the gRPC status headers readable by the page.
fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = origins
        .iter()
        .map(|origin| HeaderValue::from_str(origin))
        .collect::<Result<Vec<_>, _>>()?;
    let header = HeaderName::from_static;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([
            CONTENT_TYPE,
            http::header::AUTHORIZATION,
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("traceparent"),
            header("tracestate"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
        ])
        .max_age(std::time::Duration::from_secs(600)))
}

/// Sends gRPC and gRPC-web requests to the gRPC stack and everything else to the plain HTTP
/// routes: tonic-web answers any other HTTP/1.1 request with 400, so files must not pass it.
#[derive(Clone)]
struct Dispatch {
    grpc: GrpcStack,
    http: Option<axum::Router>,
}

fn is_grpc(request: &Request<AxumBody>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|content_type| content_type.starts_with("application/grpc"))
}

impl Service<Request<AxumBody>> for Dispatch {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both inner services are cloned per call and made ready there.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<AxumBody>) -> Self::Future {
        match &self.http {
            Some(http) if !is_grpc(&request) => {
                let http = http.clone();
                Box::pin(async move {
                    let response = http.oneshot(request).await?;
                    Ok(response.map(Body::new))
                })
            }
            _ => Box::pin(self.grpc.clone().oneshot(request)),
        }
    }
}
