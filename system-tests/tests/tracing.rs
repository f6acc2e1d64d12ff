//! One trace per business flow: a client's CreateTask and CompleteTask, sent with its own W3C
//! trace context, reach the tracker's server spans, accounting's consumer span of each event the
//! tracker recorded, and the consumer spans in payouts and analytics of the events accounting
//! recorded in turn (and analytics' of the tracker's `TaskCreated`), all in the client's trace,
//! as exported over OTLP by the real binaries to a real receiver.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_testkit::{OtlpCollector, ReceivedSpan, SmtpSink, TestBroker};
use system::{System, signed};

/// The client's trace: one business flow.
const TRACE_ID: &str = "5a1e5f0e7d3c4b2a9f8e7d6c5b4a3928";

fn traced<T>(message: T, token: &str, client_span: &str) -> tonic::Request<T> {
    let mut request = signed(message, token);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{client_span}-01").parse().unwrap(),
    );
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_created_and_completed_is_one_trace_across_tracker_accounting_and_their_events() {
    let (collector, otlp) = OtlpCollector::start().await.unwrap();
    let mut broker = TestBroker::shared();
    let topology = ates_messaging::Topology::new(broker.prefix());
    broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
    let system = System::start_with(
        broker,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("RUST_LOG", "info"),
        ],
    )
    .await;

    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system.start_payouts_alone(&smtp.url(), &[]).await;
    let analytics = system.start_analytics().await;

    let (worker, token) = system.new_worker("traced@uberpopug.test").await;

    // The tracker learns the worker from auth's events; until then creation finds nobody.
    let mut tracker_client = system.tracker().await;
    let task = ates_testkit::eventually(Duration::from_secs(30), || {
        let mut client = tracker_client.clone();
        let token = token.clone();
        async move {
            client
                .create_task(traced(
                    tracker::CreateTaskRequest {
                        description: "follow the trace".into(),
                        ..Default::default()
                    },
                    &token,
                    "1111111111111111",
                ))
                .await
                .ok()
                .and_then(|response| response.into_inner().task)
        }
    })
    .await
    .expect("the tracker assigns the new worker");
    assert_eq!(task.assignee_id, worker);
    tracker_client
        .complete_task(traced(
            tracker::CompleteTaskRequest {
                task_id: task.task_id.clone(),
                ..Default::default()
            },
            &token,
            "2222222222222222",
        ))
        .await
        .unwrap();

    // Accounting settled both: fee and reward are on the worker's statement.
    let accounting_client = system.accounting().await;
    let settled = ates_testkit::eventually(Duration::from_secs(30), || {
        let mut client = accounting_client.clone();
        let (worker, token) = (worker.clone(), token.clone());
        async move {
            let statement = client
                .get_statement(signed(
                    accounting::GetStatementRequest {
                        account_id: worker,
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .ok()?
                .into_inner();
            (statement.entries.len() == 2).then_some(())
        }
    })
    .await;
    assert!(
        settled.is_some(),
        "accounting settled the fee and the reward"
    );

    // The events accounting recorded for them (audit-log entries, bill updates) reach payouts and
    // analytics: each consumer span there must continue the client's trace.
    let wanted: [(&str, &str); 4] = [
        ("payouts-svc", "ates.accounting.events.v1.BillUpdated"),
        ("analytics-svc", "ates.accounting.events.v1.BillUpdated"),
        (
            "analytics-svc",
            "ates.accounting.events.v1.AuditLogEntryCreated",
        ),
        ("analytics-svc", "ates.tracker.events.v2.TaskCreated"),
    ];
    let consumed_downstream = ates_testkit::eventually(Duration::from_secs(30), || {
        let spans = collector.spans();
        async move {
            wanted
                .iter()
                .all(|(service, event_type)| {
                    spans.iter().any(|span| {
                        span.trace_id == TRACE_ID
                            && span.service == *service
                            && span.name == "consume event"
                            && span.attribute("event.type") == Some(event_type)
                    })
                })
                .then_some(())
        }
    })
    .await;

    // SIGTERM flushes every process's last spans.
    for process in [
        &payouts,
        &analytics,
        &system.tracker,
        &system.accounting,
        &system.auth,
    ] {
        assert!(process.stop().await, "{} stopped cleanly", process.name);
    }
    let spans: Vec<ReceivedSpan> = collector
        .spans()
        .into_iter()
        .filter(|span| span.trace_id == TRACE_ID)
        .collect();
    let names: Vec<String> = spans
        .iter()
        .map(|span| {
            format!(
                "{} {} {:?}",
                span.service,
                span.name,
                span.attribute("event.type")
                    .or(span.attribute("rpc.method"))
            )
        })
        .collect();
    let tracker_calls: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.service == "tracker-svc" && span.name == "grpc request")
        .collect();
    for method in ["CreateTask", "CompleteTask"] {
        assert!(
            tracker_calls.iter().any(|span| span
                .attribute("rpc.method")
                .is_some_and(|path| path.ends_with(method))),
            "no tracker server span of {method} in the client's trace: {names:#?}"
        );
    }
    let tracker_span_ids: Vec<&str> = spans
        .iter()
        .filter(|span| span.service == "tracker-svc")
        .map(|span| span.span_id.as_str())
        .collect();
    let consumed: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.service == "accounting-svc" && span.name == "consume event")
        .collect();
    for event_type in [
        "ates.tracker.events.v2.TaskAdded",
        "ates.tracker.events.v1.TaskCompleted",
    ] {
        let span = consumed
            .iter()
            .find(|span| span.attribute("event.type") == Some(event_type))
            .unwrap_or_else(|| panic!("no accounting span consuming {event_type}: {names:#?}"));
        assert!(
            tracker_span_ids.contains(&span.parent_span_id.as_str()),
            "accounting's span of {event_type} is not a child of a tracker span: {span:?}"
        );
    }
    assert!(
        consumed_downstream.is_some(),
        "payouts and analytics did not consume the flow's events in its trace: {names:#?}"
    );
    let accounting_span_ids: Vec<&str> =
        consumed.iter().map(|span| span.span_id.as_str()).collect();
    for (service, event_type) in wanted {
        let downstream: Vec<&ReceivedSpan> = spans
            .iter()
            .filter(|span| {
                span.service == service
                    && span.name == "consume event"
                    && span.attribute("event.type") == Some(event_type)
            })
            .collect();
        assert!(
            !downstream.is_empty(),
            "no {service} span consuming {event_type} in the client's trace: {names:#?}"
        );
        // accounting's events continue accounting's consumer span of the event that caused
        // them; the tracker's continue a tracker span.
        let parents = if event_type.starts_with("ates.accounting.") {
            &accounting_span_ids
        } else {
            &tracker_span_ids
        };
        for span in downstream {
            assert!(
                parents.contains(&span.parent_span_id.as_str()),
                "{service}'s span of {event_type} does not continue the span that recorded it: {span:?}"
            );
        }
    }
}
