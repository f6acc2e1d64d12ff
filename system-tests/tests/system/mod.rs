//! The real binaries as separate processes, each with a fresh database, on one broker prefix.

#![allow(dead_code, clippy::unwrap_used)]

pub mod close;
pub mod day;

use std::path::PathBuf;
use std::time::Duration;

use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::auth::v1::auth_service_client::AuthServiceClient;
use ates_contracts::ates::tracker::v1::tracker_service_client::TrackerServiceClient;
use ates_contracts::routing::{self, Service};
use ates_testkit::{ChildProcess, HealthStatus, TestBroker, TestDatabase, wait_for_health};
use tonic::transport::Channel;

/// The signal `std::process::abort` raises (Linux).
const SIGABRT: i32 = 6;

pub const ADMIN_EMAIL: &str = "admin@uberpopug.test";
pub const ADMIN_BEAK: &str = "system-test-admin-beak-0123456789abcdef";

/// A service binary built by `cargo build --bins` (which `make test` runs first).
pub fn binary(name: &str) -> PathBuf {
    // Tests run from target/<profile>/deps; the binaries sit one level up.
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = deps.parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the service binaries first (cargo build --bins)",
        path.display()
    );
    path
}

/// One service process; it can be killed and started again on the same port and database.
pub struct Process {
    // Fields drop in order: the process dies before its database is dropped.
    child: tokio::sync::Mutex<Option<ChildProcess>>,
    pub name: &'static str,
    pub endpoint: String,
    pub database: Option<TestDatabase>,
    environment: std::sync::Mutex<Vec<(String, String)>>,
}

impl Process {
    /// Starts the binary into `slot` (which must hold no live process).
    fn spawn_into(&self, slot: &mut Option<ChildProcess>) {
        let mut command = tokio::process::Command::new(binary(self.name));
        let environment = self.environment.lock().unwrap().clone();
        command.envs(environment.iter().map(|(key, value)| (key, value)));
        *slot = Some(ChildProcess::spawn(self.name, command).unwrap());
    }

    /// Waits until the process serves.
    async fn wait_serving(&self) {
        let status = wait_for_health(
            &self.endpoint,
            HealthStatus::Serving,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            status,
            HealthStatus::Serving,
            "{} did not become SERVING",
            self.name
        );
    }

    async fn spawn(&self) {
        self.spawn_into(&mut *self.child.lock().await);
        self.wait_serving().await;
    }

    /// SIGKILLs the process, as a crash would.
    pub async fn kill(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            child.kill().await;
        }
    }

    /// Stops the process with SIGTERM, as Kubernetes would, and waits until it exited; true when
    /// it exited cleanly.
    pub async fn stop(&self) -> bool {
        match self.child.lock().await.take() {
            Some(mut child) => child
                .terminate(Duration::from_secs(15))
                .await
                .is_some_and(|status| status.success()),
            None => false,
        }
    }

    /// Sets (`Some`) or removes (`None`) a setting for the next start.
    pub fn set_env(&self, key: &str, value: Option<&str>) {
        let mut environment = self.environment.lock().unwrap();
        environment.retain(|(name, _)| name != key);
        if let Some(value) = value {
            environment.push((key.to_owned(), value.to_owned()));
        }
    }

    /// Waits until the process has exited by itself (a crash) and answers how; `None` when it
    /// still runs after `timeout`.
    pub async fn wait_exited(&self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .lock()
                .await
                .as_mut()
                .and_then(ChildProcess::try_exit_status)
            {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process and starts it again (same port, database and settings) in one step,
    /// so that two restarts at once never start two processes.
    async fn respawn(&self) {
        let mut slot = self.child.lock().await;
        if let Some(mut child) = slot.take() {
            child.kill().await;
        }
        self.spawn_into(&mut slot);
    }

    /// Starts the process again (same port, database and settings) and waits until it serves.
    pub async fn restart(&self) {
        self.respawn().await;
        self.wait_serving().await;
    }

    /// Waits until the process died at the fault point it was armed with (`ATES_FAULT_POINT`):
    /// the point aborts, so the process ends on SIGABRT, which nothing else here sends; fails
    /// when it runs on after `timeout` or ended any other way.
    pub async fn wait_died_at_fault_point(&self, timeout: Duration) {
        use std::os::unix::process::ExitStatusExt as _;
        let status = self.wait_exited(timeout).await;
        assert!(
            status.is_some_and(|status| status.signal() == Some(SIGABRT)),
            "{} did not die at its fault point within {timeout:?}: {status:?}",
            self.name
        );
    }

    /// Starts the process again without waiting for it to serve: one armed to die at a fault
    /// point may die before it ever does.
    pub async fn restart_unchecked(&self) {
        self.respawn().await;
    }
}

/// auth, tracker and accounting as processes.
pub struct System {
    // Fields drop in order: the processes stop before the broker's queues are deleted.
    pub auth: Process,
    pub tracker: Process,
    pub accounting: Process,
    pub broker: TestBroker,
    /// Settings every process of this system gets (a business time zone, say).
    settings: Vec<(String, String)>,
    /// Where clients reach a service when it is not the process itself (a balancer in front of
    /// its replicas), by binary name.
    fronts: std::collections::BTreeMap<&'static str, String>,
}

/// Starts the binary `name` on a free port with `database_url` and `broker`, and waits until it
/// serves. `database` is the test database it owns, if any (dropped after the process dies).
pub async fn start_process(
    name: &'static str,
    database_url: &str,
    database: Option<TestDatabase>,
    broker: &TestBroker,
    auth_url: &str,
    extra: &[(&str, &str)],
) -> Process {
    let port = ates_testkit::free_port();
    start_process_on(port, name, database_url, database, broker, auth_url, extra).await
}

/// [`start_process`] on a given port (one chosen before, to name it in other settings).
pub async fn start_process_on(
    port: u16,
    name: &'static str,
    database_url: &str,
    database: Option<TestDatabase>,
    broker: &TestBroker,
    auth_url: &str,
    extra: &[(&str, &str)],
) -> Process {
    let mut environment: Vec<(String, String)> = [
        ("GRPC_LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("DATABASE_URL", database_url.to_owned()),
        ("AMQP_URL", broker.url().to_owned()),
        ("AMQP_NAME_PREFIX", broker.prefix().to_owned()),
        ("AUTH_URL", auth_url.to_owned()),
        ("RUST_LOG", "warn".to_owned()),
        // One clock for every process here: a second of tolerated skew is plenty.
        ("TOKEN_LEEWAY_SECONDS", "1".to_owned()),
        ("LOG_FORMAT", "text".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    environment.extend(
        extra
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
    );
    let process = Process {
        name,
        endpoint: format!("http://127.0.0.1:{port}"),
        database,
        environment: std::sync::Mutex::new(environment),
        child: tokio::sync::Mutex::new(None),
    };
    process.spawn().await;
    process
}

async fn start(
    name: &'static str,
    database: TestDatabase,
    broker: &TestBroker,
    auth_url: &str,
    extra: &[(&str, &str)],
) -> Process {
    let url = database.url().to_owned();
    start_process(name, &url, Some(database), broker, auth_url, extra).await
}

impl System {
    /// The system on the shared broker, under a fresh name prefix removed afterwards.
    pub async fn start() -> Self {
        Self::start_configured(&[]).await
    }

    /// The system on the shared broker (see [`System::start`]) with `settings` for every
    /// service.
    pub async fn start_configured(settings: &[(&str, &str)]) -> Self {
        let mut broker = TestBroker::shared();
        let topology = ates_messaging::Topology::new(broker.prefix());
        broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
        Self::start_with(broker, &[], settings).await
    }

    /// The system on `broker`; `auth_settings` are extra environment variables for auth-svc.
    pub async fn start_on(broker: TestBroker, auth_settings: &[(&str, &str)]) -> Self {
        Self::start_with(broker, auth_settings, &[]).await
    }

    /// The system on `broker`; `auth_settings` are extra environment variables for auth-svc,
    /// `settings` for every service.
    pub async fn start_with(
        broker: TestBroker,
        auth_settings: &[(&str, &str)],
        settings: &[(&str, &str)],
    ) -> Self {
        let auth_environment: Vec<(&str, &str)> = [
            ("AUTH_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
            ("AUTH_BOOTSTRAP_ADMIN_BEAK", ADMIN_BEAK),
        ]
        .into_iter()
        .chain(auth_settings.iter().copied())
        .chain(settings.iter().copied())
        .collect();
        let auth = start(
            "auth-svc",
            TestDatabase::create().await.unwrap(),
            &broker,
            "http://127.0.0.1:1",
            &auth_environment,
        )
        .await;
        let tracker = start(
            "tracker-svc",
            TestDatabase::create().await.unwrap(),
            &broker,
            &auth.endpoint,
            settings,
        )
        .await;
        let accounting = start(
            "accounting-svc",
            TestDatabase::create().await.unwrap(),
            &broker,
            &auth.endpoint,
            settings,
        )
        .await;
        Self::from_parts(auth, tracker, accounting, broker, settings)
    }

    /// A system of processes started elsewhere; `settings` are the ones every process got.
    pub fn from_parts(
        auth: Process,
        tracker: Process,
        accounting: Process,
        broker: TestBroker,
        settings: &[(&str, &str)],
    ) -> Self {
        Self {
            broker,
            auth,
            tracker,
            accounting,
            settings: settings
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            fronts: std::collections::BTreeMap::new(),
        }
    }

    /// Changes a setting every process of this system got, as tests read it (the processes
    /// themselves are restarted with it by the caller).
    pub fn set_setting(&mut self, key: &str, value: &str) {
        self.settings.retain(|(name, _)| name != key);
        self.settings.push((key.to_owned(), value.to_owned()));
    }

    /// Clients reach the service `name` (a binary name) at `endpoint` from now on.
    pub fn set_front(&mut self, name: &'static str, endpoint: String) {
        self.fronts.insert(name, endpoint);
    }

    /// Where clients reach the service `name` (a binary name) when it is not the process
    /// itself.
    pub fn front(&self, name: &str) -> &str {
        &self.fronts[name]
    }

    /// Where clients reach `process`'s service.
    pub fn front_of<'a>(&'a self, process: &'a Process) -> &'a str {
        self.fronts
            .get(process.name)
            .map_or(process.endpoint.as_str(), String::as_str)
    }

    /// A payouts process on `database_url` (the database it owns, if any, in `database`),
    /// sending e-mails to `smtp_url`, closing dates a second after they end, with quick e-mail
    /// retries; `extra` settings on top.
    pub async fn start_payouts(
        &self,
        database_url: &str,
        database: Option<TestDatabase>,
        smtp_url: &str,
        extra: &[(&str, &str)],
    ) -> Process {
        let mut environment: Vec<(&str, &str)> = vec![
            ("SMTP_URL", smtp_url),
            ("PAYOUTS_CLOSE_GRACE_SECONDS", "1"),
            ("PAYOUTS_EMAIL_LEASE_SECONDS", "3"),
            ("PAYOUTS_SMTP_TIMEOUT_SECONDS", "2"),
            ("PAYOUTS_EMAIL_RETRY_MAX_SECONDS", "1"),
        ];
        environment.extend(
            self.settings
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
        environment.extend(extra.iter().copied());
        start_process(
            "payouts-svc",
            database_url,
            database,
            &self.broker,
            &self.auth.endpoint,
            &environment,
        )
        .await
    }

    /// A payouts process with a fresh database of its own (see [`System::start_payouts`]).
    pub async fn start_payouts_alone(&self, smtp_url: &str, extra: &[(&str, &str)]) -> Process {
        let database = TestDatabase::create().await.unwrap();
        let url = database.url().to_owned();
        self.start_payouts(&url, Some(database), smtp_url, extra)
            .await
    }

    /// An analytics process with a fresh database of its own, with the system's settings.
    pub async fn start_analytics(&self) -> Process {
        let database = TestDatabase::create().await.unwrap();
        let url = database.url().to_owned();
        let settings: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        start_process(
            "analytics-svc",
            &url,
            Some(database),
            &self.broker,
            &self.auth.endpoint,
            &settings,
        )
        .await
    }

    /// A BFF process in front of this system's accounting.
    pub async fn start_bff(&self) -> Process {
        start_process(
            "bff-svc",
            "postgres://unused.invalid/none",
            None,
            &self.broker,
            &self.auth.endpoint,
            &[("ACCOUNTING_URL", self.accounting.endpoint.as_str())],
        )
        .await
    }

    pub async fn payouts(
        endpoint: &str,
    ) -> ates_contracts::ates::payouts::v1::payouts_service_client::PayoutsServiceClient<Channel>
    {
        ates_contracts::ates::payouts::v1::payouts_service_client::PayoutsServiceClient::new(
            Self::channel(endpoint).await,
        )
    }

    pub async fn channel(endpoint: &str) -> Channel {
        tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(Self::channel(self.front_of(&self.auth)).await)
    }

    pub async fn tracker(&self) -> TrackerServiceClient<Channel> {
        TrackerServiceClient::new(Self::channel(self.front_of(&self.tracker)).await)
    }

    pub async fn accounting(&self) -> AccountingServiceClient<Channel> {
        AccountingServiceClient::new(Self::channel(self.front_of(&self.accounting)).await)
    }

    /// Signs in with a beak; returns (account id, token).
    pub async fn sign_in(&self, beak: &str) -> (String, String) {
        let response = self
            .auth()
            .await
            .sign_in(auth::SignInRequest {
                beak: beak.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        (response.account.unwrap().account_id, response.access_token)
    }
}

impl System {
    /// The admin creates a worker with `email`; it signs in. Returns (account id, token).
    pub async fn new_worker(&self, email: &str) -> (String, String) {
        let (_, admin) = self.sign_in(ADMIN_BEAK).await;
        let created = self
            .auth()
            .await
            .create_account(signed(
                auth::CreateAccountRequest {
                    email: email.to_owned(),
                    role: auth::Role::Worker as i32,
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        self.sign_in(&created.beak).await
    }

    /// Creates a task as `token`'s owner as soon as the tracker has learned of someone it can
    /// assign (it learns accounts from auth's events); fails after 30 s.
    pub async fn create_task_once_assignable(
        &self,
        token: &str,
        description: &str,
    ) -> ates_contracts::ates::tracker::v1::Task {
        let tracker = self.tracker().await;
        ates_testkit::eventually(Duration::from_secs(30), || {
            let mut tracker = tracker.clone();
            async move {
                match tracker
                    .create_task(signed(
                        ates_contracts::ates::tracker::v1::CreateTaskRequest {
                            description: description.to_owned(),
                            ..Default::default()
                        },
                        token,
                    ))
                    .await
                {
                    Ok(response) => response.into_inner().task,
                    Err(status) => {
                        eprintln!("waiting for the tracker to learn an assignee: {status:?}");
                        None
                    }
                }
            }
        })
        .await
        .expect("the tracker never assigned the task")
    }
}

impl Process {
    /// The number a counting query (`SELECT count(*) AS n ...`) answers on the process's own
    /// database.
    pub async fn count(&self, sql: &str) -> i64 {
        let database = self.database.as_ref().expect("the process owns a database");
        let pool = ates_storage::pool(database.url(), 1).unwrap();
        ates_testkit::database::count(&pool, sql).await
    }

    /// The text column `value` of every row a query answers on the process's own database.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        let database = self.database.as_ref().expect("the process owns a database");
        let pool = ates_storage::pool(database.url(), 1).unwrap();
        ates_testkit::database::texts(&pool, sql).await
    }
}

impl System {
    /// Fails naming the queue when any consumer's dead-letter queue holds a message: nothing of
    /// the day may have been set aside.
    pub async fn assert_no_dead_letters(&self, seed: u64) {
        let topology = ates_messaging::Topology::new(self.broker.prefix());
        let connection = self.broker.connect().await.unwrap();
        let consumed: Vec<String> = [Service::Tracker, Service::Accounting]
            .into_iter()
            .flat_map(routing::subscriptions_of)
            .map(|subscription| subscription.queue())
            .collect();
        for (queue, parked) in ates_messaging::dead_letters::parked_counts(&connection, &topology)
            .await
            .unwrap()
        {
            // Every declared dead-letter queue is empty; the always-running consumers' exist.
            if consumed.contains(&queue) || parked.is_some() {
                assert_eq!(
                    parked,
                    Some(0),
                    "seed {seed}: the dead-letter queue of {queue} holds parked events"
                );
            }
        }
        let _ = connection.close(200, "checked".into()).await;
    }
}

pub use ates_testkit::signed;
