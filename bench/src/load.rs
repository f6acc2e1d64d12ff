//! The load generator: popugs signed in through auth, and clients that call the services' public
//! APIs the way a business day does.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ates_contracts::ates::analytics::v1 as analytics;
use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::bff::v1 as bff;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_testkit::signed;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tonic::transport::Channel;

use crate::system::{ADMIN_BEAK, System};

type Tracker = tracker::tracker_service_client::TrackerServiceClient<Channel>;
type Auth = auth::auth_service_client::AuthServiceClient<Channel>;
type Dashboard =
    bff::accounting_dashboard_service_client::AccountingDashboardServiceClient<Channel>;
type Analytics = analytics::analytics_service_client::AnalyticsServiceClient<Channel>;

/// A signed-in popug.
#[derive(Debug, Clone)]
pub struct Popug {
    pub id: String,
    pub beak: String,
    pub token: String,
}

/// Everyone the load acts as, and the ledger events its calls caused so far (each task created
/// and each task completed is one, each reassignment one more).
#[derive(Debug)]
pub struct Population {
    pub admin: Popug,
    pub manager: Popug,
    pub workers: Vec<Popug>,
    tokens: HashMap<String, String>,
    pub ledger_events: AtomicI64,
    endpoints: Endpoints,
}

#[derive(Debug, Clone)]
struct Endpoints {
    auth: String,
    tracker: String,
    bff: String,
    analytics: String,
}

/// A new HTTP/2 connection to `endpoint`: every client of the load has its own, as separate
/// users would.
pub async fn channel(endpoint: &str) -> anyhow::Result<Channel> {
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())?
        .connect()
        .await
        .with_context(|| format!("connecting to {endpoint}"))
}

async fn sign_in(client: &mut Auth, beak: &str) -> anyhow::Result<Popug> {
    let answer = client
        .sign_in(auth::SignInRequest {
            beak: beak.to_owned(),
        })
        .await?
        .into_inner();
    Ok(Popug {
        id: answer
            .account
            .context("SignIn answered no account")?
            .account_id,
        beak: beak.to_owned(),
        token: answer.access_token,
    })
}

impl Population {
    /// The admin signs in and creates a manager and `workers` workers, who sign in; returns once
    /// the tracker can assign tasks to all of them.
    pub async fn create(system: &System, workers: usize) -> anyhow::Result<Arc<Self>> {
        let mut client = Auth::new(channel(system.endpoint("auth-svc")).await?);
        let admin = sign_in(&mut client, ADMIN_BEAK).await?;
        let mut create = async |email: String, role: auth::Role| -> anyhow::Result<Popug> {
            let created = client
                .create_account(signed(
                    auth::CreateAccountRequest {
                        email,
                        role: role as i32,
                    },
                    &admin.token,
                ))
                .await?
                .into_inner();
            sign_in(&mut client, &created.beak).await
        };
        let manager = create("manager@bench.ates".to_owned(), auth::Role::Manager).await?;
        let mut popugs = Vec::with_capacity(workers);
        for index in 0..workers {
            popugs.push(create(format!("worker{index}@bench.ates"), auth::Role::Worker).await?);
        }
        let tokens = popugs
            .iter()
            .map(|popug| (popug.id.clone(), popug.token.clone()))
            .collect();
        let population = Arc::new(Self {
            admin,
            manager,
            workers: popugs,
            tokens,
            ledger_events: AtomicI64::new(0),
            endpoints: Endpoints {
                auth: system.endpoint("auth-svc").to_owned(),
                tracker: system.endpoint("tracker-svc").to_owned(),
                bff: system.endpoint("bff-svc").to_owned(),
                analytics: system.endpoint("analytics-svc").to_owned(),
            },
        });
        // The tracker learns accounts from auth's events.
        let tracker_db = system.database("tracker-svc").await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let known: i64 = tracker_db
                .query_one("SELECT count(*) FROM accounts WHERE role = 'worker'", &[])
                .await?
                .get(0);
            if known == i64::try_from(workers)? {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the tracker knows {known} of {workers} workers after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(population)
    }

    fn token_of(&self, account: &str) -> anyhow::Result<&str> {
        self.tokens
            .get(account)
            .map(String::as_str)
            .with_context(|| format!("a task was assigned to {account}, who is not a bench worker"))
    }

    /// A client of its own (its own connections), seeded with `seed`.
    pub async fn client(self: &Arc<Self>, seed: u64) -> anyhow::Result<Client> {
        let tracker_channel = channel(&self.endpoints.tracker).await?;
        let auth_channel = channel(&self.endpoints.auth).await?;
        Ok(Client {
            population: Arc::clone(self),
            tracker: Tracker::new(tracker_channel.clone()),
            auth: Auth::new(auth_channel.clone()),
            tracker_channel,
            auth_channel,
            dashboard: Dashboard::new(channel(&self.endpoints.bff).await?),
            analytics: Analytics::new(channel(&self.endpoints.analytics).await?),
            rng: StdRng::seed_from_u64(seed),
            open: VecDeque::new(),
            stats: Stats::default(),
        })
    }
}

/// What a client's calls did: per operation, the latencies of the answered calls (µs) and the
/// failures by status code.
#[derive(Debug, Default)]
pub struct Stats {
    pub latencies: BTreeMap<&'static str, Vec<u32>>,
    /// By operation and gRPC status code (as a number: `tonic::Code` is not ordered).
    pub failures: BTreeMap<(&'static str, i32), u64>,
}

impl Stats {
    pub fn merge(&mut self, other: Self) {
        for (operation, latencies) in other.latencies {
            self.latencies
                .entry(operation)
                .or_default()
                .extend(latencies);
        }
        for (key, count) in other.failures {
            *self.failures.entry(key).or_default() += count;
        }
    }

    pub fn calls(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }

    /// Every failure that is not a task lost to a reshuffle (a completion after the task moved
    /// to another popug: the system is right to refuse it).
    pub fn real_failures(&self) -> Vec<String> {
        self.failures
            .iter()
            .filter(|((operation, code), _)| {
                !(*operation == "CompleteTask"
                    && matches!(
                        tonic::Code::from(*code),
                        tonic::Code::PermissionDenied | tonic::Code::FailedPrecondition
                    ))
            })
            .map(|((operation, code), count)| {
                format!("{operation}: {count} × {:?}", tonic::Code::from(*code))
            })
            .collect()
    }
}

/// The p-th percentile (0..=100) of `values`, sorted in place.
pub fn percentile(values: &mut [u32], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    f64::from(values[rank.min(values.len() - 1)])
}

/// One user of the system: a manager creating tasks, their assignees completing them, popugs
/// and admins reading their dashboards.
#[derive(Debug)]
pub struct Client {
    population: Arc<Population>,
    tracker: Tracker,
    auth: Auth,
    tracker_channel: Channel,
    auth_channel: Channel,
    dashboard: Dashboard,
    analytics: Analytics,
    rng: StdRng,
    /// Tasks this client created and has not completed yet, oldest first, with their assignee.
    open: VecDeque<(String, String)>,
    pub stats: Stats,
}

impl Client {
    fn record<T>(
        &mut self,
        operation: &'static str,
        started: Instant,
        result: Result<T, tonic::Status>,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                self.stats
                    .latencies
                    .entry(operation)
                    .or_default()
                    .push(micros);
                Some(value)
            }
            Err(status) => {
                *self
                    .stats
                    .failures
                    .entry((operation, status.code() as i32))
                    .or_default() += 1;
                None
            }
        }
    }

    /// The manager creates a task; remembers it and its assignee.
    pub async fn create_task(&mut self) -> Option<tracker::Task> {
        let started = Instant::now();
        let request = signed(
            tracker::CreateTaskRequest {
                description: "bench task".to_owned(),
                ..Default::default()
            },
            &self.population.manager.token,
        );
        let result = self.tracker.create_task(request).await;
        let task = self
            .record("CreateTask", started, result)?
            .into_inner()
            .task?;
        self.population
            .ledger_events
            .fetch_add(1, Ordering::Relaxed);
        self.open
            .push_back((task.task_id.clone(), task.assignee_id.clone()));
        Some(task)
    }

    /// The assignee of this client's oldest open task completes it.
    pub async fn complete_oldest(&mut self) -> anyhow::Result<()> {
        let Some((task_id, assignee)) = self.open.pop_front() else {
            return Ok(());
        };
        let token = self.population.token_of(&assignee)?.to_owned();
        let started = Instant::now();
        let result = self
            .tracker
            .complete_task(signed(
                tracker::CompleteTaskRequest {
                    task_id,
                    ..Default::default()
                },
                &token,
            ))
            .await;
        if self.record("CompleteTask", started, result).is_some() {
            self.population
                .ledger_events
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A task's whole life: created, then completed by its assignee.
    pub async fn lifecycle(&mut self) -> anyhow::Result<()> {
        if self.create_task().await.is_some() {
            self.complete_oldest().await?;
        }
        Ok(())
    }

    fn any_worker(&mut self) -> Popug {
        let index = self.rng.random_range(0..self.population.workers.len());
        self.population.workers[index].clone()
    }

    /// One step of the business day's mix: 45 % task creations, 35 % completions, 20 % reads
    /// (a popug's open tasks, a popug's dashboard through the BFF, the analytics summary, the
    /// management dashboard through the BFF).
    pub async fn step(&mut self) -> anyhow::Result<()> {
        let roll = self.rng.random_range(0..100);
        match roll {
            0..45 => {
                self.create_task().await;
            }
            45..80 => {
                if self.open.is_empty() {
                    self.create_task().await;
                } else {
                    self.complete_oldest().await?;
                }
            }
            80..88 => {
                let worker = self.any_worker();
                let started = Instant::now();
                let result = self
                    .tracker
                    .list_my_tasks(signed(
                        tracker::ListMyTasksRequest {
                            status: tracker::TaskStatus::Open as i32,
                            page_size: 20,
                            ..Default::default()
                        },
                        &worker.token,
                    ))
                    .await;
                self.record("ListMyTasks", started, result);
            }
            88..94 => {
                let worker = self.any_worker();
                let started = Instant::now();
                let result = self
                    .dashboard
                    .get_my_dashboard(signed(bff::GetMyDashboardRequest::default(), &worker.token))
                    .await;
                self.record("GetMyDashboard", started, result);
            }
            94..97 => {
                let started = Instant::now();
                let result = self
                    .analytics
                    .get_summary(signed(
                        analytics::GetSummaryRequest {},
                        &self.population.admin.token,
                    ))
                    .await;
                self.record("GetSummary", started, result);
            }
            _ => {
                let started = Instant::now();
                let result = self
                    .dashboard
                    .get_management_dashboard(signed(
                        bff::GetManagementDashboardRequest::default(),
                        &self.population.admin.token,
                    ))
                    .await;
                self.record("GetManagementDashboard", started, result);
            }
        }
        Ok(())
    }

    /// The manager reassigns every open task; returns how many were reassigned.
    pub async fn reshuffle(&mut self) -> Option<i64> {
        let started = Instant::now();
        let request = signed(
            tracker::ReassignOpenTasksRequest::default(),
            &self.population.manager.token,
        );
        let result = self.tracker.reassign_open_tasks(request).await;
        let count = self
            .record("ReassignOpenTasks", started, result)?
            .into_inner()
            .reassigned_count;
        self.population
            .ledger_events
            .fetch_add(count, Ordering::Relaxed);
        Some(count)
    }

    /// One call of the kind `operation` names, for the saturation measurements: a health check
    /// of the tracker or auth, a task creation, or a sign-in.
    pub async fn call(&mut self, operation: Operation) {
        let started = Instant::now();
        match operation {
            Operation::TrackerHealth | Operation::AuthHealth => {
                let channel = if operation == Operation::TrackerHealth {
                    self.tracker_channel.clone()
                } else {
                    self.auth_channel.clone()
                };
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let result = health
                    .check(tonic_health::pb::HealthCheckRequest::default())
                    .await;
                self.record(operation.name(), started, result);
            }
            Operation::CreateTask => {
                self.create_task().await;
                // Saturation runs create only: forget the task rather than grow the queue.
                self.open.clear();
            }
            Operation::SignIn => {
                let beak = self.any_worker().beak;
                let result = self.auth.sign_in(auth::SignInRequest { beak }).await;
                self.record(operation.name(), started, result);
            }
        }
    }
}

/// The calls whose saturation rate P5 compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    TrackerHealth,
    CreateTask,
    AuthHealth,
    SignIn,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Self::TrackerHealth => "tracker Health/Check",
            Self::CreateTask => "CreateTask",
            Self::AuthHealth => "auth Health/Check",
            Self::SignIn => "SignIn",
        }
    }
}
