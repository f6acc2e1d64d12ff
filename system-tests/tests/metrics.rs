//! Every service reports its own health at `GET /metrics` (the Prometheus text format, on its
//! own port, over HTTP/1.1 as Prometheus scrapes): the calls it served by method and status, the
//! events its relay published and its consumers applied, its outbox's backlog, its batches and
//! lag, and its database pool. The real binaries, driven through their APIs.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_contracts::ates::tracker::v1 as tracker;
use bytes::Bytes;
use system::{System, signed};

/// `GET /metrics` at `endpoint` (`http://127.0.0.1:port`) over HTTP/1.1.
async fn get_metrics(endpoint: &str) -> http::Response<Bytes> {
    let address = ates_testkit::socket_address_of(endpoint).unwrap();
    let request = http::Request::get("/metrics")
        .header(http::header::HOST, address.to_string())
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    ates_testkit::http1(address, request).await.unwrap()
}

/// The body and content type of `GET /metrics` at `endpoint`, which must answer 200.
async fn scrape(endpoint: &str) -> (String, String) {
    let response = get_metrics(endpoint).await;
    assert_eq!(
        response.status(),
        http::StatusCode::OK,
        "{endpoint}/metrics"
    );
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    (
        String::from_utf8(response.into_body().to_vec()).unwrap(),
        content_type,
    )
}

/// The sum of the samples of `name` whose labels include every one of `labels`, or `None` when
/// there is no such sample.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let has = |(key, wanted): &(&str, &str)| {
            series_labels
                .split(',')
                .any(|pair| pair == format!("{key}=\"{wanted}\""))
        };
        if labels.iter().all(has) {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap();
        }
    }
    found
}

/// Scrapes `endpoint` until `name` with `labels` reaches `at_least`; fails with the last text.
async fn wait_for_sample(endpoint: &str, name: &str, labels: &[(&str, &str)], at_least: f64) {
    let mut last = String::new();
    for _ in 0..100 {
        let (text, _) = scrape(endpoint).await;
        if sample(&text, name, labels).is_some_and(|value| value >= at_least) {
            return;
        }
        last = text;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{endpoint}: no {name}{labels:?} ≥ {at_least} after 10 s; /metrics said:\n{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_service_reports_its_calls_events_outbox_batches_and_pool_at_metrics() {
    let system = System::start().await;
    let (_, token) = system.new_worker("metered@uberpopug.test").await;
    let task = system.create_task_once_assignable(&token, "counted").await;
    let mut client = system.tracker().await;
    let refused = client
        .create_task(signed(
            tracker::CreateTaskRequest {
                description: String::new(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    // A path no service has: counted, but as one `unknown` method whatever the caller sends.
    let channel = System::channel(&system.tracker.endpoint).await;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let unknown = grpc
        .unary(
            signed(tracker::CreateTaskRequest::default(), &token),
            "/ates.tracker.v1.TrackerService/NoSuchMethod".parse().unwrap(),
            tonic_prost::ProstCodec::<tracker::CreateTaskRequest, tracker::CreateTaskResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::Unimplemented);
    // Without a token the token layer answers first; the made-up path is still one label.
    grpc.ready().await.unwrap();
    let unsigned = grpc
        .unary(
            tonic::Request::new(tracker::CreateTaskRequest::default()),
            "/made.up.Service/Anything".parse().unwrap(),
            tonic_prost::ProstCodec::<tracker::CreateTaskRequest, tracker::CreateTaskResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unsigned.code(), tonic::Code::Unauthenticated);

    // The tracker: its calls by method and status, its published events, its outbox, its pool.
    let tracker = system.tracker.endpoint.as_str();
    let (text, content_type) = scrape(tracker).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let create = "/ates.tracker.v1.TrackerService/CreateTask";
    assert!(
        sample(
            &text,
            "rpc_server_duration_seconds_count",
            &[("rpc_method", create), ("rpc_grpc_status_code", "0")]
        )
        .is_some_and(|calls| calls >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "rpc_server_duration_seconds_count",
            &[("rpc_method", create), ("rpc_grpc_status_code", "3")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "rpc_server_duration_seconds_count",
            &[("rpc_method", "unknown"), ("rpc_grpc_status_code", "12")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "rpc_server_duration_seconds_count",
            &[("rpc_method", "unknown"), ("rpc_grpc_status_code", "16")]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains("NoSuchMethod") && !text.contains("made.up"),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "rpc_server_duration_seconds_bucket",
            &[("rpc_method", create), ("le", "+Inf")]
        )
        .is_some(),
        "{text}"
    );
    wait_for_sample(
        tracker,
        "messaging_published_total",
        &[("event_type", "ates.tracker.events.v2.TaskAdded")],
        1.0,
    )
    .await;
    let (text, _) = scrape(tracker).await;
    assert_eq!(
        sample(&text, "db_client_connections_max", &[]),
        Some(16.0),
        "{text}"
    );
    assert!(
        sample(&text, "db_client_connections_usage", &[("state", "idle")]).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "db_client_connections_usage", &[("state", "used")]).is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "db_client_connections_pending_requests", &[]).is_some(),
        "{text}"
    );
    assert!(sample(&text, "outbox_waiting", &[]).is_some(), "{text}");
    assert!(
        sample(&text, "outbox_oldest_age_seconds", &[]).is_some(),
        "{text}"
    );

    // Accounting: the task's assignment applied from its queue, in a batch, with its lag.
    let accounting = system.accounting.endpoint.as_str();
    wait_for_sample(
        accounting,
        "messaging_consumed_total",
        &[
            ("event_type", "ates.tracker.events.v2.TaskAdded"),
            ("outcome", "applied"),
        ],
        1.0,
    )
    .await;
    let (text, _) = scrape(accounting).await;
    assert!(
        sample(&text, "messaging_batch_size_count", &[]).is_some_and(|batches| batches >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "messaging_consumer_lag_seconds_count", &[])
            .is_some_and(|events| events >= 1.0),
        "{text}"
    );
    // Accounting published what it recorded in turn.
    wait_for_sample(accounting, "messaging_published_total", &[], 1.0).await;
    assert!(!task.task_id.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_otlp_exporter_metrics_are_pushed_to_the_collector_and_not_served() {
    let (collector, otlp) = ates_testkit::OtlpCollector::start().await.unwrap();
    let system = System::start_configured(&[
        ("METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
    ])
    .await;
    let (_, token) = system.new_worker("pushed@uberpopug.test").await;
    system.create_task_once_assignable(&token, "pushed").await;
    let pushed = ates_testkit::eventually(Duration::from_secs(20), || {
        let received = collector.metrics();
        async move {
            let has = |service: &str, metric: &str| {
                received
                    .iter()
                    .any(|(from, name)| from == service && name == metric)
            };
            (has("tracker-svc", "rpc.server.duration")
                && has("tracker-svc", "messaging.published")
                && has("accounting-svc", "messaging.consumed")
                && has("auth-svc", "db.client.connections.usage"))
            .then_some(())
        }
    })
    .await;
    assert!(pushed.is_some(), "received: {:?}", collector.metrics());
    // Nothing to scrape then.
    let response = get_metrics(&system.tracker.endpoint).await;
    assert_eq!(response.status(), http::StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_metrics_port_of_their_own_the_metrics_are_not_on_the_routed_port() {
    // The BFF's port is the one an Ingress routes to the internet.
    let system = System::start().await;
    let metrics_address = format!("127.0.0.1:{}", ates_testkit::free_port());
    let bff = system::start_process(
        "bff-svc",
        "postgres://unused.invalid/none",
        None,
        &system.broker,
        &system.auth.endpoint,
        &[
            ("ACCOUNTING_URL", system.accounting.endpoint.as_str()),
            ("METRICS_LISTEN_ADDR", metrics_address.as_str()),
        ],
    )
    .await;
    // The routed port answers /metrics as any other path of the web app, with no metric in it.
    let routed = get_metrics(&bff.endpoint).await;
    let body = String::from_utf8_lossy(routed.body());
    assert!(!body.contains("rpc_server_duration"), "{body}");
    let (text, _) = scrape(&format!("http://{metrics_address}")).await;
    assert!(
        sample(
            &text,
            "rpc_server_duration_seconds_count",
            &[("rpc_method", "/grpc.health.v1.Health/Check")]
        )
        .is_some_and(|checks| checks >= 1.0),
        "{text}"
    );
}
