//! Deterministic crashes of the real binaries at named points (`ATES_FAULT_POINT`, compiled
//! into debug builds only): accounting dies after a consumer's commit and before its ack, the
//! tracker dies after the broker confirmed its relay's batch and before the outbox rows are
//! deleted. Each time the process is started again and the business day goes on; the money
//! then equals the test's independent ledger: nothing applied twice, nothing lost. (The payout
//! points are in `payouts.rs`.)
//!
//! And a lost answer: a proxy between a client and the tracker forwards a `CreateTask` or a
//! `CompleteTask` and drops the tracker's answer; the client's retry with the same `request_id`
//! acts once.

#![allow(clippy::unwrap_used)]

mod system;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_contracts::ates::tracker::v1::tracker_service_client::TrackerServiceClient;
use ates_contracts::routing::{self, Service};
use lapin::options::BasicGetOptions;
use system::day::{self, Day};
use system::{ADMIN_BEAK, Process, System, signed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;

/// Fewest day steps after the crash.
const STEPS_AFTER: usize = 30;

/// Starts `process` again with `ATES_FAULT_POINT=point`, without waiting for it to serve: it
/// may reach the point first.
async fn arm(process: &Process, point: &str) {
    process.set_env("ATES_FAULT_POINT", Some(point));
    process.restart_unchecked().await;
}

/// What a crash left for the restarted process to deduplicate, found while the process is
/// dead: the ids of events it had applied and committed (in the consumer's inbox) that are
/// about to be delivered or published again.
type Leftovers = fn(&System) -> futures::future::BoxFuture<'_, Vec<String>>;

/// accounting died after a commit and before its ack: the deliveries it held come back to its
/// queues (the broker returns them soon after the connection died), marked redelivered; those
/// whose ids are in its inbox were applied already. Each look takes the queues' messages
/// without acking and hands them back, which may count as a delivery: a few looks stay far
/// below the queues' delivery limit.
fn redelivered_and_applied(system: &System) -> futures::future::BoxFuture<'_, Vec<String>> {
    Box::pin(async move {
        for _ in 0..10 {
            let applied = applied_of(&system.accounting, &redelivered(system).await).await;
            if !applied.is_empty() {
                return applied;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Vec::new()
    })
}

/// The ids of the messages in accounting's queues marked redelivered, looked at once.
async fn redelivered(system: &System) -> Vec<String> {
    let topology = ates_messaging::Topology::new(system.broker.prefix());
    let connection = system.broker.connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut redelivered = Vec::new();
    for subscription in routing::subscriptions_of(Service::Accounting) {
        let queue = topology.queue(&subscription);
        // Taken without acks and handed back when the connection closes.
        for _ in 0..2_000 {
            let Some(message) = channel
                .basic_get(queue.clone().into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap()
            else {
                break;
            };
            if message.delivery.redelivered
                && let Some(id) = message.delivery.properties.message_id()
            {
                redelivered.push(id.to_string());
            }
        }
    }
    let _ = connection.close(200, "looked".into()).await;
    redelivered
}

/// The tracker died after the broker confirmed a relay batch and before it deleted the rows:
/// rows still in its outbox whose events accounting applied already, to be published again.
fn published_and_applied(system: &System) -> futures::future::BoxFuture<'_, Vec<String>> {
    Box::pin(async move {
        let outbox = system
            .tracker
            .texts("SELECT event_id::text AS value FROM outbox_events")
            .await;
        // The confirmed events reach accounting while the tracker is dead.
        ates_testkit::eventually(Duration::from_secs(20), || async {
            let applied = applied_of(&system.accounting, &outbox).await;
            (!applied.is_empty()).then_some(applied)
        })
        .await
        .unwrap_or_default()
    })
}

/// The ids among `events` that `process`'s inbox holds.
async fn applied_of(process: &Process, events: &[String]) -> Vec<String> {
    if events.is_empty() {
        return Vec::new();
    }
    // Rendered from parsed UUIDs: nothing else reaches the query.
    let listed = events
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok())
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    if listed.is_empty() {
        return Vec::new();
    }
    process
        .texts(&format!(
            "SELECT event_id::text AS value FROM inbox_events WHERE event_id IN ({listed})"
        ))
        .await
}

/// Waits until `process` died at its armed point (on the point's abort), finds what it left to
/// deduplicate, then starts it without the point; answers the leftovers.
async fn recover(
    system: Arc<System>,
    process: fn(&System) -> &Process,
    point: &'static str,
    leftovers: Leftovers,
) -> Vec<String> {
    let process = process(&system);
    process
        .wait_died_at_fault_point(Duration::from_secs(90))
        .await;
    let left = leftovers(&system).await;
    eprintln!(
        "{} died at {point}, leaving {} applied events to come again; starting it again",
        process.name,
        left.len()
    );
    process.set_env("ATES_FAULT_POINT", None);
    process.restart().await;
    left
}

/// The day runs while `process` is armed with `point`; it dies there, leaving events that were
/// applied once to come again, is started again and the day goes on; afterwards the money
/// equals the books (each of those events applied once) and nothing was parked.
async fn a_day_through_a_crash_at(
    seed: u64,
    process: fn(&System) -> &Process,
    point: &'static str,
    leftovers: Leftovers,
) {
    let system = Arc::new(System::start().await);
    arm(process(&system), point).await;
    let recovery = tokio::spawn(recover(system.clone(), process, point, leftovers));
    let mut day = Day::begin(&system, seed).await;
    let mut after = 0;
    while after < STEPS_AFTER {
        day.step().await;
        if recovery.is_finished() {
            after += 1;
        }
    }
    let left = recovery.await.unwrap();
    assert!(
        !left.is_empty(),
        "seed {seed}: the crash at {point} left nothing applied to come again"
    );
    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(60)).await;
    system.assert_no_dead_letters(seed).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accounting_killed_after_a_consumer_commit_before_its_ack_applies_each_event_once() {
    let seed = day::seed(20_261_203);
    a_day_through_a_crash_at(
        seed,
        |system| &system.accounting,
        "consumer.after_commit",
        redelivered_and_applied,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tracker_killed_after_the_relays_confirm_before_its_delete_publishes_again_harmlessly()
{
    let seed = day::seed(20_261_204);
    a_day_through_a_crash_at(
        seed,
        |system| &system.tracker,
        "relay.after_confirm",
        published_and_applied,
    )
    .await;
}

/// A TCP proxy in front of a gRPC server that, when armed, forwards a request and then drops
/// the server's answer: it passes the server's connection-level HTTP/2 frames (stream 0:
/// settings, pings, window updates) and cuts both connections at the first HEADERS frame of a
/// response, which the server sends only after its handler has finished.
struct AnswerDropper {
    port: u16,
    armed: Arc<AtomicBool>,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

const FRAME_HEADERS: u8 = 0x1;

impl AnswerDropper {
    async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn({
            let armed = armed.clone();
            let dropped = dropped.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        continue;
                    };
                    tokio::spawn(Self::forward(
                        client,
                        server,
                        armed.clone(),
                        dropped.clone(),
                    ));
                }
            }
        });
        Self {
            port,
            armed,
            dropped,
        }
    }

    async fn forward(
        client: TcpStream,
        server: TcpStream,
        armed: Arc<AtomicBool>,
        dropped: Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let upstream = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        });
        // Server to client, a frame at a time: 9 bytes of header (length, type, flags, stream).
        loop {
            let mut header = [0u8; 9];
            if server_read.read_exact(&mut header).await.is_err() {
                break;
            }
            let length =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let stream =
                u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
            let mut payload = vec![0u8; length];
            if server_read.read_exact(&mut payload).await.is_err() {
                break;
            }
            if stream != 0 && header[3] == FRAME_HEADERS && armed.swap(false, Ordering::SeqCst) {
                dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            if client_write.write_all(&header).await.is_err()
                || client_write.write_all(&payload).await.is_err()
            {
                break;
            }
        }
        upstream.abort();
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    async fn client(&self) -> TrackerServiceClient<tonic::transport::Channel> {
        TrackerServiceClient::new(
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port))
                .unwrap()
                .connect_lazy(),
        )
    }
}

/// Calls `call` once through the armed proxy (its answer is dropped: the call fails as an
/// outage would), then again with the same request through the disarmed one until it answers.
async fn with_the_first_answer_lost<T, F, Fut>(proxy: &AnswerDropper, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let before = proxy.dropped();
    proxy.arm();
    let lost = call().await;
    let status = match lost {
        Ok(_) => panic!("the proxy did not drop the answer"),
        Err(status) => status,
    };
    assert_eq!(proxy.dropped(), before + 1, "the proxy dropped no answer");
    eprintln!("first answer lost: {status:?}");
    // The retry, as a client makes it: the same request again while the transport fails (the
    // channel may first try the connection the proxy cut).
    for _ in 0..10 {
        match call().await {
            Ok(answer) => return answer,
            Err(status) if matches!(status.code(), Code::Unavailable | Code::Cancelled) => {
                eprintln!("retrying after {status:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("the retry failed: {status:?}"),
        }
    }
    panic!("the retry never reached the tracker")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_and_a_complete_whose_answers_were_lost_act_once_when_retried_with_their_request_ids()
 {
    let system = System::start().await;
    let (worker_id, worker) = system.new_worker("lost-answers@uberpopug.test").await;
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    // The tracker knows the worker once a first task could be assigned.
    let first = system
        .create_task_once_assignable(&admin, "a first task")
        .await;
    let port: u16 = system
        .tracker
        .endpoint
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = AnswerDropper::start(port).await;
    let client = proxy.client().await;

    let create_key = uuid::Uuid::new_v4().to_string();
    let created = with_the_first_answer_lost(&proxy, || {
        let mut client = client.clone();
        let request = signed(
            tracker::CreateTaskRequest {
                description: "a task whose answer was lost".to_owned(),
                request_id: create_key.clone(),
                title: "a task whose answer was lost".to_owned(),
                jira_id: String::new(),
            },
            &admin,
        );
        async move { client.create_task(request).await }
    })
    .await
    .into_inner()
    .task
    .unwrap();
    assert_eq!(created.assignee_id, worker_id);

    let complete_key = uuid::Uuid::new_v4().to_string();
    let done = with_the_first_answer_lost(&proxy, || {
        let mut client = client.clone();
        let request = signed(
            tracker::CompleteTaskRequest {
                task_id: created.task_id.clone(),
                request_id: complete_key.clone(),
            },
            &worker,
        );
        async move { client.complete_task(request).await }
    })
    .await
    .into_inner()
    .task
    .unwrap();
    assert_eq!(done.status, tracker::TaskStatus::Done as i32);

    // One task of that description, done once.
    let tasks = system
        .tracker()
        .await
        .list_tasks(signed(
            tracker::ListTasksRequest {
                page_size: 100,
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    let ids: Vec<&str> = tasks.iter().map(|task| task.task_id.as_str()).collect();
    assert_eq!(ids.len(), 2, "tasks: {tasks:?}");
    assert!(ids.contains(&first.task_id.as_str()) && ids.contains(&created.task_id.as_str()));

    // Accounting charged the fee once and paid the reward once: the worker's statement has one
    // fee and one reward for the task, and its balance is their sum with the first task's fee.
    let accounting_client = system.accounting().await;
    let expected_lines = 3;
    let statement = ates_testkit::eventually(Duration::from_secs(30), || {
        let mut client = accounting_client.clone();
        let request = signed(
            accounting::GetStatementRequest {
                account_id: worker_id.clone(),
                page_size: 100,
                ..Default::default()
            },
            &worker,
        );
        async move {
            let statement = client.get_statement(request).await.ok()?.into_inner();
            (statement.entries.len() >= expected_lines).then_some(statement)
        }
    })
    .await
    .expect("accounting never recorded the worker's three entries");
    // Anything late would show now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = accounting_client
        .clone()
        .get_statement(signed(
            accounting::GetStatementRequest {
                account_id: worker_id.clone(),
                page_size: 100,
                ..Default::default()
            },
            &worker,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.entries, statement.entries);
    let of_task = |kind: accounting::EntryKind| {
        statement
            .entries
            .iter()
            .filter(|entry| entry.task_id == created.task_id && entry.kind == kind as i32)
            .count()
    };
    assert_eq!(
        (
            statement.entries.len(),
            of_task(accounting::EntryKind::AssignmentFee),
            of_task(accounting::EntryKind::CompletionReward)
        ),
        (3, 1, 1),
        "{:?}",
        statement.entries
    );
    let sum: i64 = statement
        .entries
        .iter()
        .map(|entry| entry.amount_cents)
        .sum();
    assert_eq!(statement.closing_balance_cents, sum);
}
