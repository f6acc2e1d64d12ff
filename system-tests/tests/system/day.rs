//! A business day driven through the public APIs, and the test's own books of it: what every
//! popug should have been charged and paid, computed only from what the APIs answered.
//!
//! Every call that changes something carries a `request_id`, and every call is retried while
//! the service behind it is down (killed, restarting): a lost answer is never taken for a
//! refusal, and a retried change never acts twice. That is what lets the same day run while
//! processes are killed under it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use ates_calendar::BusinessCalendar;
use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::analytics::v1 as analytics;
use ates_contracts::ates::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_contracts::ates::tracker::v1::tracker_service_client::TrackerServiceClient;
use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::{ADMIN_BEAK, System, signed};

/// How long a call keeps being retried while its service is down.
const OUTAGE_LIMIT: Duration = Duration::from_secs(120);

/// The seed from `ATES_SEED`, or `default`; printed so that a failure can be replayed.
pub fn seed(default: u64) -> u64 {
    let seed = std::env::var("ATES_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(default);
    eprintln!("seed {seed} (set ATES_SEED to replay)");
    seed
}

/// One audit-log line as the test expects it: task, kind, signed amount.
pub type Line = (String, accounting::EntryKind, i64);

/// The test's books: each account's balance now; the audit log per account, the opening
/// balances, fees and rewards of the open business date; and every date closed before it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Books {
    pub balances: BTreeMap<String, i64>,
    pub entries: BTreeMap<String, Vec<Line>>,
    pub fees_cents: i64,
    pub rewards_cents: i64,
    /// Each account's balance when the open date began (absent: 0).
    pub opening: BTreeMap<String, i64>,
    /// The dates closed so far, oldest first.
    pub closed: Vec<ClosedDate>,
}

/// A business date the books closed: what each statement of it shows, and what was paid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClosedDate {
    pub date: NaiveDate,
    pub opening: BTreeMap<String, i64>,
    pub entries: BTreeMap<String, Vec<Line>>,
    pub closing: BTreeMap<String, i64>,
    /// Each popug paid, and how much: its positive balance at the close.
    pub payouts: BTreeMap<String, i64>,
    pub fees_cents: i64,
    pub rewards_cents: i64,
}

impl Books {
    /// Closes the open date `date`: every positive balance is paid out (a payout entry of minus
    /// the balance, dated `date`), negative ones carry over. Returns the payouts.
    fn close(&mut self, date: NaiveDate) -> BTreeMap<String, i64> {
        let payouts: BTreeMap<String, i64> = self
            .balances
            .iter()
            .filter(|(_, cents)| **cents > 0)
            .map(|(account, cents)| (account.clone(), *cents))
            .collect();
        for (account, amount) in &payouts {
            self.entries.entry(account.clone()).or_default().push((
                String::new(),
                accounting::EntryKind::Payout,
                -amount,
            ));
            self.balances.insert(account.clone(), 0);
        }
        self.closed.push(ClosedDate {
            date,
            opening: std::mem::take(&mut self.opening),
            entries: std::mem::take(&mut self.entries),
            closing: self.balances.clone(),
            payouts: payouts.clone(),
            fees_cents: std::mem::take(&mut self.fees_cents),
            rewards_cents: std::mem::take(&mut self.rewards_cents),
        });
        self.opening = self.balances.clone();
        payouts
    }

    fn charge(&mut self, account: &str, task_id: &str, fee_cents: i64) {
        *self.balances.entry(account.to_owned()).or_default() -= fee_cents;
        self.entries.entry(account.to_owned()).or_default().push((
            task_id.to_owned(),
            accounting::EntryKind::AssignmentFee,
            -fee_cents,
        ));
        self.fees_cents += fee_cents;
    }

    fn credit(&mut self, account: &str, task_id: &str, reward_cents: i64) {
        *self.balances.entry(account.to_owned()).or_default() += reward_cents;
        self.entries.entry(account.to_owned()).or_default().push((
            task_id.to_owned(),
            accounting::EntryKind::CompletionReward,
            reward_cents,
        ));
        self.rewards_cents += reward_cents;
    }
}

/// An audit-log line as a statement shows it: task, kind, amount, description, title, jira id.
pub type StatementLine = (String, accounting::EntryKind, i64, String, String, String);

/// A statement as the test compares it: date, opening and closing balance, sorted lines.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Statement {
    pub business_date: String,
    pub opening: i64,
    pub closing: i64,
    pub lines: Vec<StatementLine>,
}

impl Statement {
    /// Adds a page of accounting's statement (the first page sets the balances).
    pub fn extend(&mut self, page: accounting::GetStatementResponse) {
        self.business_date = page.business_date;
        self.opening = page.opening_balance_cents;
        self.closing = page.closing_balance_cents;
        self.lines.extend(page.entries.into_iter().map(|entry| {
            (
                entry.task_id,
                accounting::EntryKind::try_from(entry.kind)
                    .unwrap_or(accounting::EntryKind::Unspecified),
                entry.amount_cents,
                entry.task_description,
                entry.task_title,
                entry.task_jira_id,
            )
        }));
    }

    /// One page of accounting's statement, as the test compares it.
    pub fn of(page: accounting::GetStatementResponse) -> Self {
        let mut statement = Self::default();
        statement.extend(page);
        statement.lines.sort();
        statement
    }
}

/// A task as the test saw it.
#[derive(Debug, Clone)]
struct KnownTask {
    description: String,
    /// Title and jira id as the rules say (checked against the tracker's answers).
    title: String,
    jira_id: String,
    /// A client gave the title: it no longer follows the description.
    title_given: bool,
    fee_cents: i64,
    reward_cents: i64,
    assignee: String,
    done: bool,
    /// When the tracker says it was completed.
    completed_at: Option<(i64, i32)>,
    /// The business date it was completed on.
    completed_on: Option<NaiveDate>,
}

/// Every page of `account`'s statement of `date` (empty: today), read with `token`.
pub async fn statement_pages(
    client: &AccountingServiceClient<Channel>,
    token: &str,
    account: &str,
    date: &str,
) -> Vec<accounting::GetStatementResponse> {
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = persist(|| {
            let mut client = client.clone();
            let request = signed(
                accounting::GetStatementRequest {
                    account_id: account.to_owned(),
                    business_date: date.to_owned(),
                    page_size: 1_000,
                    page_token: page_token.clone(),
                },
                token,
            );
            async move { client.get_statement(request).await }
        })
        .await
        .unwrap()
        .into_inner();
        page_token.clone_from(&page.next_page_token);
        pages.push(page);
        if page_token.is_empty() {
            return pages;
        }
    }
}

/// Whether a failed call means "the service is not there right now" rather than an answer.
fn is_outage(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

/// Calls that met a service that was down and were tried again, in this test process.
static RETRIED_CALLS: AtomicUsize = AtomicUsize::new(0);
/// Calls made through [`persist`] (each counted once, however often it was tried).
static CALLS: AtomicUsize = AtomicUsize::new(0);
/// The longest any call made through [`persist`] waited for its answer, in milliseconds.
static LONGEST_WAIT_MS: AtomicU64 = AtomicU64::new(0);

/// How many calls so far met a service that was down and were tried again.
pub fn retried_calls() -> usize {
    RETRIED_CALLS.load(Ordering::Relaxed)
}

/// How many calls were made so far, and the longest one waited for its answer.
pub fn calls_made() -> (usize, Duration) {
    (
        CALLS.load(Ordering::Relaxed),
        Duration::from_millis(LONGEST_WAIT_MS.load(Ordering::Relaxed)),
    )
}

/// Management's earnings of the current business date as accounting answers the token `admin`
/// (retried through outages).
pub async fn today_earnings(
    client: &AccountingServiceClient<Channel>,
    admin: &str,
) -> accounting::DayEarnings {
    persist(|| {
        let mut client = client.clone();
        let request = signed(accounting::GetTodayManagementEarningsRequest {}, admin);
        async move { client.get_today_management_earnings(request).await }
    })
    .await
    .unwrap()
    .into_inner()
    .today
    .unwrap()
}

/// Calls `call` until it gets an answer that is not an outage, for at most [`OUTAGE_LIMIT`].
pub async fn persist<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let started = tokio::time::Instant::now();
    let deadline = started + OUTAGE_LIMIT;
    CALLS.fetch_add(1, Ordering::Relaxed);
    loop {
        match call().await {
            Err(status) if is_outage(&status) && tokio::time::Instant::now() < deadline => {
                RETRIED_CALLS.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            answer => {
                let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                LONGEST_WAIT_MS.fetch_max(waited, Ordering::Relaxed);
                return answer;
            }
        }
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// [`Day::act`]: anyone creates a task.
pub const CREATE: u32 = 0;
/// [`Day::act`]: a popug completes one of its open tasks.
pub const COMPLETE: u32 = 5;
/// [`Day::act`]: the manager reshuffles.
pub const RESHUFFLE: u32 = 4;
/// [`Day::act`]: the manager rewrites a description.
pub const REWRITE: u32 = 10;
/// [`Day::act`]: a popug tries someone else's task or a done one, and is refused.
pub const REFUSED: u32 = 9;

/// Business days in progress (one open date at a time).
pub struct Day {
    pub seed: u64,
    /// The services' business calendar, and the open business date in it.
    pub calendar: BusinessCalendar,
    pub date: NaiveDate,
    /// Whether the consumers have heard the tasks' titles and jira ids: false while the
    /// tracker publishes version 1 events, which carry neither.
    pub titles_announced: bool,
    rng: StdRng,
    pub admin: String,
    pub manager: String,
    pub accountant: String,
    /// Every account's e-mail address, by account id.
    pub emails: BTreeMap<String, String>,
    eligible: Vec<String>,
    /// How many accounts have the worker role.
    pub worker_count: i64,
    token_of: HashMap<String, String>,
    all_tokens: Vec<String>,
    tracker: TrackerServiceClient<Channel>,
    pub books: Books,
    tasks: BTreeMap<String, KnownTask>,
    steps: usize,
    reshuffles: usize,
}

impl Day {
    /// The admin creates the staff, everyone signs in, and the first task is created as soon as
    /// the tracker has learned the accounts from auth's events.
    pub async fn begin(system: &System, seed: u64) -> Self {
        let rng = StdRng::seed_from_u64(seed);
        let calendar: BusinessCalendar = system
            .settings
            .iter()
            .find(|(key, _)| key == "BUSINESS_TIME_ZONE")
            .map_or_else(BusinessCalendar::utc, |(_, zone)| zone.parse().unwrap());
        let (_, admin) = system.sign_in(ADMIN_BEAK).await;
        let mut auth_client = system.auth().await;
        let mut people: Vec<(String, auth::Role, String)> = Vec::new();
        let mut emails = BTreeMap::new();
        for (name, role) in [
            ("manager", auth::Role::Manager),
            ("accountant", auth::Role::Accountant),
            ("worker1", auth::Role::Worker),
            ("worker2", auth::Role::Worker),
            ("worker3", auth::Role::Worker),
            ("worker4", auth::Role::Worker),
        ] {
            let created = auth_client
                .create_account(signed(
                    auth::CreateAccountRequest {
                        email: format!("{name}@uberpopug.test"),
                        role: role as i32,
                    },
                    &admin,
                ))
                .await
                .unwrap()
                .into_inner();
            let (id, token) = system.sign_in(&created.beak).await;
            emails.insert(id.clone(), format!("{name}@uberpopug.test"));
            people.push((id, role, token));
        }
        let mut day = Self {
            seed,
            rng,
            calendar,
            date: calendar.date_of(chrono::Utc::now()),
            titles_announced: true,
            manager: people[0].2.clone(),
            accountant: people[1].2.clone(),
            emails,
            eligible: people
                .iter()
                .filter(|(_, role, _)| matches!(role, auth::Role::Worker | auth::Role::Accountant))
                .map(|(id, _, _)| id.clone())
                .collect(),
            worker_count: people
                .iter()
                .filter(|(_, role, _)| *role == auth::Role::Worker)
                .count() as i64,
            token_of: people
                .iter()
                .map(|(id, _, token)| (id.clone(), token.clone()))
                .collect(),
            all_tokens: people
                .iter()
                .map(|(_, _, token)| token.clone())
                .chain([admin.clone()])
                .collect(),
            admin,
            tracker: system.tracker().await,
            books: Books::default(),
            tasks: BTreeMap::new(),
            steps: 0,
            reshuffles: 0,
        };

        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let manager = day.manager.clone();
        loop {
            match day.create_task(&manager, "the first task").await {
                Ok(()) => break,
                Err(status)
                    if status.code() == Code::FailedPrecondition
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(status) => panic!("seed {seed}: {status:?}"),
            }
        }
        day
    }

    /// How many steps have run.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// How many tasks the day created.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Creates a task the way the step's client would: every third one by a client that gives
    /// a title and a jira id, the others by clients written before titles existed, half of them
    /// with a `[POP-n]` prefix in the description.
    async fn create_task(&mut self, creator: &str, text: &str) -> Result<(), Status> {
        let key = request_id();
        let step = self.steps;
        // (description, title, jira id sent; title and jira id the rules give).
        let (description, title, jira_id, expected_title, expected_jira_id) = match step % 3 {
            0 => (
                format!("{text}, in detail"),
                text.to_owned(),
                format!("POP-{step}"),
                text.to_owned(),
                format!("POP-{step}"),
            ),
            1 => (
                format!("[pop-{step}] - {text}"),
                String::new(),
                String::new(),
                text.to_owned(),
                format!("POP-{step}"),
            ),
            _ => (
                text.to_owned(),
                String::new(),
                String::new(),
                text.to_owned(),
                String::new(),
            ),
        };
        let task = persist(|| {
            let mut client = self.tracker.clone();
            let request = signed(
                tracker::CreateTaskRequest {
                    description: description.clone(),
                    request_id: key.clone(),
                    title: title.clone(),
                    jira_id: jira_id.clone(),
                },
                creator,
            );
            async move { client.create_task(request).await }
        })
        .await?
        .into_inner()
        .task
        .unwrap();
        assert!(
            self.eligible.contains(&task.assignee_id),
            "seed {}: assigned to a manager or admin",
            self.seed
        );
        assert_eq!(
            (&task.description, &task.title, &task.jira_id),
            (&description, &expected_title, &expected_jira_id),
            "seed {}: the tracker's details differ from the rules",
            self.seed
        );
        self.books
            .charge(&task.assignee_id, &task.task_id, task.fee_cents);
        self.tasks.insert(
            task.task_id,
            KnownTask {
                description: task.description,
                title: expected_title,
                jira_id: expected_jira_id,
                title_given: !title.is_empty(),
                fee_cents: task.fee_cents,
                reward_cents: task.reward_cents,
                assignee: task.assignee_id,
                done: false,
                completed_at: None,
                completed_on: None,
            },
        );
        Ok(())
    }

    /// Every open task, all pages.
    async fn open_tasks(&self) -> Vec<tracker::Task> {
        let mut tasks = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = persist(|| {
                let mut client = self.tracker.clone();
                let request = signed(
                    tracker::ListTasksRequest {
                        status: tracker::TaskStatus::Open as i32,
                        page_size: 500,
                        page_token: page_token.clone(),
                    },
                    &self.manager,
                );
                async move { client.list_tasks(request).await }
            })
            .await
            .unwrap()
            .into_inner();
            tasks.extend(page.tasks);
            if page.next_page_token.is_empty() {
                return tasks;
            }
            page_token = page.next_page_token;
        }
    }

    /// One random step of the day.
    pub async fn step(&mut self) {
        let action = self.rng.random_range(0..11);
        self.act(action).await;
    }

    /// One step of the day of a given kind: [`CREATE`], [`RESHUFFLE`], 5..=8 a completion,
    /// [`REWRITE`], 9 a refused completion.
    pub async fn act(&mut self, action: u32) {
        let seed = self.seed;
        let step = self.steps;
        self.steps += 1;
        match action {
            // Anyone creates a task.
            0..=3 => {
                let creator =
                    self.all_tokens[self.rng.random_range(0..self.all_tokens.len())].clone();
                self.create_task(&creator, &format!("task of step {step}"))
                    .await
                    .unwrap_or_else(|status| panic!("seed {seed}: {status:?}"));
            }
            // The manager reshuffles: every open task is assigned (and charged) again.
            4 => {
                let key = request_id();
                let reshuffle = persist(|| {
                    let mut client = self.tracker.clone();
                    let request = signed(
                        tracker::ReassignOpenTasksRequest {
                            request_id: key.clone(),
                        },
                        &self.manager,
                    );
                    async move { client.reassign_open_tasks(request).await }
                })
                .await
                .unwrap()
                .into_inner();
                let listed = self.open_tasks().await;
                assert_eq!(
                    listed.len() as i64,
                    reshuffle.reassigned_count,
                    "seed {seed}"
                );
                self.reshuffles += 1;
                for task in listed {
                    let known = self.tasks.get_mut(&task.task_id).unwrap();
                    self.books
                        .charge(&task.assignee_id, &task.task_id, known.fee_cents);
                    known.assignee = task.assignee_id;
                }
            }
            // A popug completes one of its tasks.
            5..=8 => {
                let id = self.eligible[self.rng.random_range(0..self.eligible.len())].clone();
                let token = self.token_of[&id].clone();
                let mine = persist(|| {
                    let mut client = self.tracker.clone();
                    let request = signed(
                        tracker::ListMyTasksRequest {
                            status: tracker::TaskStatus::Open as i32,
                            ..Default::default()
                        },
                        &token,
                    );
                    async move { client.list_my_tasks(request).await }
                })
                .await
                .unwrap()
                .into_inner()
                .tasks;
                if let Some(task) = mine.first() {
                    let key = request_id();
                    let done = persist(|| {
                        let mut client = self.tracker.clone();
                        let request = signed(
                            tracker::CompleteTaskRequest {
                                task_id: task.task_id.clone(),
                                request_id: key.clone(),
                            },
                            &token,
                        );
                        async move { client.complete_task(request).await }
                    })
                    .await
                    .unwrap_or_else(|status| panic!("seed {seed}: {status:?}"))
                    .into_inner()
                    .task
                    .unwrap();
                    assert_eq!(done.status, tracker::TaskStatus::Done as i32, "seed {seed}");
                    let known = self.tasks.get_mut(&task.task_id).unwrap();
                    assert_eq!(
                        known.assignee, id,
                        "seed {seed}: the tracker and the test disagree on an assignee"
                    );
                    known.done = true;
                    known.completed_at =
                        done.completed_at.as_ref().map(|at| (at.seconds, at.nanos));
                    known.completed_on = Some(self.date);
                    self.books.credit(&id, &task.task_id, known.reward_cents);
                }
            }
            // The manager rewrites a task's description; statements show the newest one.
            10 => {
                let index = self.rng.random_range(0..self.tasks.len());
                let task_id = self.tasks.keys().nth(index).unwrap().clone();
                let mut expected = self.tasks[&task_id].clone();
                let updated = if step % 2 == 0 {
                    // An old client rewrites the description: a title no client gave follows it.
                    let description = format!("task revised at step {step}");
                    expected.description.clone_from(&description);
                    if !expected.title_given {
                        expected.title.clone_from(&description);
                    }
                    persist(|| {
                        let mut client = self.tracker.clone();
                        let request = signed(
                            tracker::UpdateTaskDescriptionRequest {
                                task_id: task_id.clone(),
                                description: description.clone(),
                            },
                            &self.manager,
                        );
                        async move { client.update_task_description(request).await }
                    })
                    .await
                    .map(|answer| answer.into_inner().task)
                } else {
                    // A new client gives the task a title and a jira id of its own.
                    expected.title = format!("retitled at step {step}");
                    expected.jira_id = format!("POP-{step}");
                    expected.title_given = true;
                    persist(|| {
                        let mut client = self.tracker.clone();
                        let request = signed(
                            tracker::UpdateTaskDetailsRequest {
                                task_id: task_id.clone(),
                                title: Some(expected.title.clone()),
                                jira_id: Some(expected.jira_id.clone()),
                                description: None,
                            },
                            &self.manager,
                        );
                        async move { client.update_task_details(request).await }
                    })
                    .await
                    .map(|answer| answer.into_inner().task)
                }
                .unwrap_or_else(|status| panic!("seed {seed}: {status:?}"))
                .unwrap();
                assert_eq!(
                    (&updated.description, &updated.title, &updated.jira_id),
                    (&expected.description, &expected.title, &expected.jira_id),
                    "seed {seed}: the tracker's details differ from the rules"
                );
                self.tasks.insert(task_id, expected);
            }
            // A popug tries someone else's task or a done one, and is refused.
            _ => {
                let index = self.rng.random_range(0..self.tasks.len());
                let Some((task_id, known)) = self
                    .tasks
                    .iter()
                    .nth(index)
                    .map(|(id, task)| (id.clone(), task.clone()))
                else {
                    return;
                };
                let (caller, expected) = if known.done {
                    (known.assignee.clone(), Code::FailedPrecondition)
                } else {
                    (
                        self.eligible
                            .iter()
                            .find(|id| **id != known.assignee)
                            .unwrap()
                            .clone(),
                        Code::PermissionDenied,
                    )
                };
                let token = self.token_of[&caller].clone();
                let refused = persist(|| {
                    let mut client = self.tracker.clone();
                    let request = signed(
                        tracker::CompleteTaskRequest {
                            task_id: task_id.clone(),
                            ..Default::default()
                        },
                        &token,
                    );
                    async move { client.complete_task(request).await }
                })
                .await
                .unwrap_err();
                assert_eq!(refused.code(), expected, "seed {seed}: {refused:?}");
            }
        }
    }

    /// An account's statement of `date` (empty: today), all pages, read with its own token.
    async fn statement_of(
        &self,
        client: &AccountingServiceClient<Channel>,
        account: &str,
        date: &str,
    ) -> Statement {
        let mut statement = Statement::default();
        for page in statement_pages(client, &self.token_of[account], account, date).await {
            statement.extend(page);
        }
        statement.lines.sort();
        statement
    }

    /// What `account`'s statement of `date` should show, from the books: the open date's or a
    /// closed one's.
    pub fn expected_statement(&self, account: &str, date: NaiveDate) -> Statement {
        let (opening, entries, closing) = if date == self.date {
            (
                &self.books.opening,
                &self.books.entries,
                &self.books.balances,
            )
        } else {
            let closed = self
                .books
                .closed
                .iter()
                .find(|closed| closed.date == date)
                .unwrap_or_else(|| panic!("the books never had {date}"));
            (&closed.opening, &closed.entries, &closed.closing)
        };
        let mut lines: Vec<StatementLine> = entries
            .get(account)
            .into_iter()
            .flatten()
            .map(|(task, kind, amount)| match self.tasks.get(task) {
                Some(known) if self.titles_announced => (
                    task.clone(),
                    *kind,
                    *amount,
                    known.description.clone(),
                    known.title.clone(),
                    known.jira_id.clone(),
                ),
                Some(known) => (
                    task.clone(),
                    *kind,
                    *amount,
                    known.description.clone(),
                    String::new(),
                    String::new(),
                ),
                None => (
                    task.clone(),
                    *kind,
                    *amount,
                    String::new(),
                    String::new(),
                    String::new(),
                ),
            })
            .collect();
        lines.sort();
        Statement {
            business_date: date.to_string(),
            opening: opening.get(account).copied().unwrap_or_default(),
            closing: closing.get(account).copied().unwrap_or_default(),
            lines,
        }
    }

    /// Every date the books know: the closed ones and the open one.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.books
            .closed
            .iter()
            .map(|closed| closed.date)
            .chain([self.date])
            .collect()
    }

    /// Closes the books' open date as the end-of-day close pays it (see [`Books`]) once its
    /// midnight has passed, and opens the next date of `calendar` (the services' calendar from
    /// now on). Returns the payouts the close should make.
    pub fn close_date(&mut self, calendar: BusinessCalendar) -> BTreeMap<String, i64> {
        let payouts = self.books.close(self.date);
        self.calendar = calendar;
        self.date = self.date.succ_opt().unwrap();
        assert_eq!(
            calendar.date_of(chrono::Utc::now()),
            self.date,
            "seed {}: the business date is not the next one",
            self.seed
        );
        payouts
    }

    /// Prints the day's size and fails when it was too quiet to prove anything.
    pub fn summarise(&self) {
        let done = self.tasks.values().filter(|task| task.done).count();
        // Entries of every date, payouts included.
        let entries: usize = self
            .books
            .closed
            .iter()
            .map(|closed| &closed.entries)
            .chain([&self.books.entries])
            .flat_map(BTreeMap::values)
            .map(Vec::len)
            .sum();
        let earnings = self.earnings();
        eprintln!(
            "seed {}: {} dates, {} steps, {} tasks, {done} done, {entries} entries, fees {} ¢, rewards {} ¢",
            self.seed,
            earnings.len(),
            self.steps,
            self.tasks.len(),
            earnings.iter().map(|day| day.fees_cents).sum::<i64>(),
            earnings.iter().map(|day| day.rewards_cents).sum::<i64>()
        );
        assert!(
            done > 0 && self.reshuffles > 0 && entries > self.tasks.len() + done,
            "seed {}: the day was too quiet to prove anything ({} reshuffles)",
            self.seed,
            self.reshuffles
        );
    }

    /// Waits (at most `within`) until accounting's balances equal the test's books, then
    /// compares every statement, every audit log and management earnings to the cent.
    pub async fn settle_and_check(&self, system: &System, within: Duration) {
        let seed = self.seed;
        let accounting_client = system.accounting().await;
        let accountant = self.accountant.clone();
        let list_balances = |page_size: i32| {
            let mut client = accounting_client.clone();
            let request = signed(
                accounting::ListBalancesRequest {
                    page_size,
                    ..Default::default()
                },
                &accountant,
            );
            async move { client.list_balances(request).await }
        };
        let expected = self.books.balances.clone();
        let mut last_seen = BTreeMap::new();
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            last_seen = persist(|| list_balances(1_000))
                .await
                .unwrap()
                .into_inner()
                .balances
                .into_iter()
                .map(|balance| (balance.account_id, balance.balance_cents))
                .collect();
            if last_seen == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let differences: Vec<String> = expected
            .keys()
            .chain(last_seen.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|account| expected.get(*account) != last_seen.get(*account))
            .map(|account| {
                format!(
                    "{account}: expected {:?}, accounting has {:?}",
                    expected.get(account),
                    last_seen.get(account)
                )
            })
            .collect();
        assert!(
            differences.is_empty(),
            "seed {seed}: accounting's balances differ from the independent ledger after {within:?}:\n{}",
            differences.join("\n")
        );

        let negative = expected.values().filter(|balance| **balance < 0).count() as i64;
        let balances = persist(|| list_balances(0)).await.unwrap().into_inner();
        assert_eq!(balances.negative_balance_count, negative, "seed {seed}");

        // Each popug's statement of every date, read by the popug a page at a time: the
        // opening and closing balance and every audit-log line (task, kind, amount, the task's
        // newest description, title and jira id) equal the books. Descriptions travel on their
        // own queue, so this is awaited too.
        let mut differences = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            differences.clear();
            for date in self.dates() {
                let asked = if date == self.date {
                    String::new()
                } else {
                    date.to_string()
                };
                for account in expected.keys() {
                    let shown = self.statement_of(&accounting_client, account, &asked).await;
                    let wanted = self.expected_statement(account, date);
                    if let Some(difference) = difference(account, &shown, &wanted) {
                        differences.push(difference);
                    }
                }
            }
            if differences.is_empty() || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            differences.is_empty(),
            "seed {seed}: statements differ from the independent ledger:\n{}",
            differences.join("\n")
        );

        let today = today_earnings(&accounting_client, &self.admin).await;
        assert_eq!(
            (today.fees_cents, today.rewards_cents, today.earnings_cents),
            (
                self.books.fees_cents,
                self.books.rewards_cents,
                self.books.fees_cents - self.books.rewards_cents
            ),
            "seed {seed}: management earnings"
        );
        let dates = self.dates();
        let days = persist(|| {
            let mut client = accounting_client.clone();
            let request = signed(
                accounting::GetManagementEarningsRequest {
                    from_date: dates[0].to_string(),
                    to_date: self.date.to_string(),
                },
                &self.admin,
            );
            async move { client.get_management_earnings(request).await }
        })
        .await
        .unwrap()
        .into_inner()
        .days;
        assert_eq!(days, self.earnings(), "seed {seed}: earnings per date");
    }

    /// Management's earnings of every date the books know, as accounting lists them.
    pub fn earnings(&self) -> Vec<accounting::DayEarnings> {
        self.books
            .closed
            .iter()
            .map(|closed| (closed.date, closed.fees_cents, closed.rewards_cents))
            .chain([(self.date, self.books.fees_cents, self.books.rewards_cents)])
            .map(|(date, fees, rewards)| accounting::DayEarnings {
                business_date: date.to_string(),
                fees_cents: fees,
                rewards_cents: rewards,
                earnings_cents: fees - rewards,
            })
            .collect()
    }
}

/// What differs between a statement of `account` as shown and as wanted, if anything.
pub fn difference(account: &str, shown: &Statement, wanted: &Statement) -> Option<String> {
    if shown == wanted {
        return None;
    }
    let missing: Vec<_> = wanted
        .lines
        .iter()
        .filter(|line| !shown.lines.contains(line))
        .take(3)
        .collect();
    let unexpected: Vec<_> = shown
        .lines
        .iter()
        .filter(|line| !wanted.lines.contains(line))
        .take(3)
        .collect();
    Some(format!(
        "{account} on {}: shown {} → {} in {} lines ({}), books {} → {} in {} lines; missing {missing:?}; unexpected {unexpected:?}",
        wanted.business_date,
        shown.opening,
        shown.closing,
        shown.lines.len(),
        shown.business_date,
        wanted.opening,
        wanted.closing,
        wanted.lines.len()
    ))
}

impl Day {
    /// The most expensive task the books saw completed on the open date (see
    /// [`Day::most_expensive_between`]).
    pub fn most_expensive(&self) -> Option<analytics::TaskPrice> {
        self.most_expensive_between(self.date, self.date)
    }

    /// The most expensive task the books saw completed from `from` to `to`, as analytics should
    /// show it: the highest reward, then the earliest completion, then the lowest task id.
    pub fn most_expensive_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Option<analytics::TaskPrice> {
        self.tasks
            .iter()
            .filter(|(_, task)| task.completed_on.is_some_and(|on| from <= on && on <= to))
            .filter_map(|(id, task)| Some((id, task, task.completed_at?)))
            .min_by(|(a_id, a, a_at), (b_id, b, b_at)| {
                b.reward_cents
                    .cmp(&a.reward_cents)
                    .then(a_at.cmp(b_at))
                    .then(a_id.cmp(b_id))
            })
            .map(|(id, task, _)| analytics::TaskPrice {
                task_id: id.clone(),
                description: task.description.clone(),
                reward_cents: task.reward_cents,
                completed_on: task.completed_on.unwrap().to_string(),
                title: task.title.clone(),
                jira_id: task.jira_id.clone(),
            })
    }

    /// Waits (at most `within`) until analytics at `endpoint` answers what the books say, and
    /// checks that its figures equal accounting's own to the cent: today's earnings, the
    /// negative balances, the worker count, and the most expensive task of the day, the week,
    /// the month and of each of the last seven days.
    pub async fn check_analytics(&self, system: &System, endpoint: &str, within: Duration) {
        let seed = self.seed;
        let client = AnalyticsServiceClient::new(System::channel(endpoint).await);
        let today = self.date;
        let expected_summary = analytics::GetSummaryResponse {
            business_date: today.to_string(),
            management_earnings_cents: self.books.fees_cents - self.books.rewards_cents,
            negative_balance_count: self
                .books
                .balances
                .values()
                .filter(|cents| **cents < 0)
                .count() as i64,
            rebuilding: false,
            worker_count: self.worker_count,
        };
        let week_start = today - chrono::Duration::days(6);
        let expected_series: Vec<analytics::DayMostExpensiveTask> = week_start
            .iter_days()
            .take(7)
            .map(|date| analytics::DayMostExpensiveTask {
                business_date: date.to_string(),
                task: self.most_expensive_between(date, date),
            })
            .collect();
        let mut differences = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            differences.clear();
            let summary = persist(|| {
                let mut client = client.clone();
                let request = signed(analytics::GetSummaryRequest {}, &self.admin);
                async move { client.get_summary(request).await }
            })
            .await
            .unwrap()
            .into_inner();
            if summary != expected_summary {
                differences.push(format!("summary {summary:?}, books {expected_summary:?}"));
            }
            let mut asked = vec![
                (analytics::Period::Day, String::new(), today, today),
                (
                    analytics::Period::Week,
                    today.to_string(),
                    week_start,
                    today,
                ),
                (
                    analytics::Period::Month,
                    String::new(),
                    today - chrono::Duration::days(29),
                    today,
                ),
            ];
            // Each closed date on its own.
            asked.extend(self.books.closed.iter().map(|closed| {
                (
                    analytics::Period::Day,
                    closed.date.to_string(),
                    closed.date,
                    closed.date,
                )
            }));
            for (period, end_date, from, to) in asked {
                let winner = self.most_expensive_between(from, to);
                let answer = persist(|| {
                    let mut client = client.clone();
                    let request = signed(
                        analytics::GetMostExpensiveTaskRequest {
                            period: period as i32,
                            end_date: end_date.clone(),
                        },
                        &self.admin,
                    );
                    async move { client.get_most_expensive_task(request).await }
                })
                .await
                .unwrap()
                .into_inner()
                .task;
                if answer != winner {
                    differences.push(format!("{period:?} to {to}: {answer:?}, books {winner:?}"));
                }
            }
            let series = persist(|| {
                let mut client = client.clone();
                let request = signed(
                    analytics::GetMostExpensiveTaskSeriesRequest {
                        from_date: week_start.to_string(),
                        to_date: today.to_string(),
                    },
                    &self.admin,
                );
                async move { client.get_most_expensive_task_series(request).await }
            })
            .await
            .unwrap()
            .into_inner()
            .days;
            if series != expected_series {
                differences.push(format!("series {series:?}, books {expected_series:?}"));
            }
            if differences.is_empty() || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            differences.is_empty(),
            "seed {seed}: analytics differs from the books after {within:?}:\n{}",
            differences.join("\n")
        );

        // The same figures as accounting's own.
        let mut accounting_client = system.accounting().await;
        let accounting_today = accounting_client
            .get_today_management_earnings(signed(
                accounting::GetTodayManagementEarningsRequest {},
                &self.admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .today
            .unwrap();
        let accounting_negative = accounting_client
            .list_balances(signed(
                accounting::ListBalancesRequest::default(),
                &self.admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .negative_balance_count;
        assert_eq!(
            (
                expected_summary.management_earnings_cents,
                expected_summary.negative_balance_count
            ),
            (accounting_today.earnings_cents, accounting_negative),
            "seed {seed}: analytics and accounting disagree"
        );
    }

    /// Waits (at most `within`) until the BFF at `endpoint` shows what the books say: each
    /// popug's own dashboard of every date (read with its token), an admin's view of each
    /// statement, and the management dashboard over every date (earnings per date, today's, the
    /// total and the negative balances).
    pub async fn check_bff(&self, endpoint: &str, within: Duration) {
        use ates_contracts::ates::bff::v1 as bff;
        use ates_contracts::ates::bff::v1::accounting_dashboard_service_client::AccountingDashboardServiceClient;
        let seed = self.seed;
        let client = AccountingDashboardServiceClient::new(System::channel(endpoint).await);
        let dates = self.dates();
        let earnings = self.earnings();
        let expected_dashboard = bff::GetManagementDashboardResponse {
            today: earnings.last().cloned(),
            total_earnings_cents: earnings.iter().map(|day| day.earnings_cents).sum(),
            days: earnings,
            negative_balance_count: self
                .books
                .balances
                .values()
                .filter(|cents| **cents < 0)
                .count() as i64,
        };
        let mut differences = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            differences.clear();
            for date in &dates {
                let asked = if *date == self.date {
                    String::new()
                } else {
                    date.to_string()
                };
                for account in self.books.balances.keys() {
                    let wanted = self.expected_statement(account, *date);
                    let mine = persist(|| {
                        let mut client = client.clone();
                        let request = signed(
                            bff::GetMyDashboardRequest {
                                business_date: asked.clone(),
                                page_token: String::new(),
                            },
                            &self.token_of[account],
                        );
                        async move { client.get_my_dashboard(request).await }
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .statement
                    .unwrap();
                    if let Some(difference) = difference(account, &Statement::of(mine), &wanted) {
                        differences.push(format!("my dashboard: {difference}"));
                    }
                    let theirs = persist(|| {
                        let mut client = client.clone();
                        let request = signed(
                            bff::GetAccountStatementRequest {
                                account_id: account.clone(),
                                business_date: asked.clone(),
                                page_token: String::new(),
                            },
                            &self.admin,
                        );
                        async move { client.get_account_statement(request).await }
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .statement
                    .unwrap();
                    if let Some(difference) = difference(account, &Statement::of(theirs), &wanted) {
                        differences.push(format!("account statement: {difference}"));
                    }
                }
            }
            let dashboard = persist(|| {
                let mut client = client.clone();
                let request = signed(
                    bff::GetManagementDashboardRequest {
                        from_date: dates[0].to_string(),
                        to_date: self.date.to_string(),
                    },
                    &self.admin,
                );
                async move { client.get_management_dashboard(request).await }
            })
            .await
            .unwrap()
            .into_inner();
            if dashboard != expected_dashboard {
                differences.push(format!(
                    "management dashboard {dashboard:?}, books {expected_dashboard:?}"
                ));
            }
            if differences.is_empty() || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            differences.is_empty(),
            "seed {seed}: the BFF differs from the books after {within:?}:\n{}",
            differences.join("\n")
        );
    }
}
