//! Test support for aTES: every test gets real PostgreSQL and RabbitMQ, isolated from every other
//! test (a fresh database, a unique name prefix on the shared broker, or a private broker), and
//! real services: [`auth`], [`tracker`], [`accounting`], [`payouts`] and [`analytics`] run the services in this process on
//! free ports exactly as their binaries do; [`ConfirmedChannel`] plays a producer on the broker;
//! [`OtlpCollector`] receives the spans services export.
//!
//! Where the shared servers are: `ATES_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, used to create and drop test databases) and
//! `ATES_TEST_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`). `make test` sets both
//! to whatever `make up`'s infrastructure script found or started.

pub mod accounting;
pub mod analytics;
pub mod auth;
mod bare_loop;
mod broker;
mod confirmed;
pub mod database;
mod gate;
mod grpc_web;
mod otlp;
pub mod payouts;
mod postgres;
mod process;
mod service;
mod smtp;
pub mod tracker;

pub use bare_loop::bare_broker_loop;
pub use broker::{PrivateBroker, TestBroker};
pub use confirmed::{ConfirmedChannel, envelope, poison};
pub use database::TestDatabase;
pub use gate::{TcpBalancer, TcpGate};
pub use grpc_web::{GrpcWebAnswer, grpc_web_call, http1, preflight};
pub use otlp::{OtlpCollector, ReceivedSpan};
pub use postgres::PrivatePostgres;
pub use process::{ChildProcess, HealthStatus, health_status, wait_for_health};
pub use service::{RunningService, service_config};
pub use smtp::{ReceivedMail, SmtpMode, SmtpSink};

/// `message` with `authorization: Bearer <token>`.
#[allow(clippy::unwrap_used)]
pub fn signed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The `host:port` a `scheme://user@host:port/path` URL points at, resolved.
pub fn socket_address_of(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs as _;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host_port)| host_port);
    host_port
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host_port} does not resolve"))
}

/// Runs `cleanup` to completion on a thread and runtime of its own. `Drop` implementations use
/// it: they may run inside a runtime that is shutting down, where nothing can be awaited.
pub(crate) fn run_to_completion_elsewhere<F>(cleanup: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let worker = std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            runtime.block_on(cleanup);
        }
    });
    let _ = worker.join();
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("the OS hands out a free port")
}

/// A short random suffix for names (databases, prefixes, node names).
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: std::time::Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Asserts every `(case, status, code, field)`: the status has `code` and its message names
/// `field`. The shape of every "bad input gets a clear error" table in the service tests.
#[allow(clippy::panic)]
pub fn assert_refusals(cases: &[(&str, tonic::Status, tonic::Code, &str)]) {
    for (name, status, code, field) in cases {
        assert_eq!(status.code(), *code, "{name}: {}", status.message());
        assert!(
            status.message().contains(field),
            "{name}: `{}` does not name {field}",
            status.message()
        );
    }
}
