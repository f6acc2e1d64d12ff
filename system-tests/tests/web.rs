//! The web app in a real Chromium against the real services (all six binaries): the admin and a
//! worker use the dashboards in their own browser contexts (`web/e2e/dashboards.mjs`), and what
//! the pages showed is checked here against the APIs. Screenshots of every dashboard go to
//! `target/web-screenshots/`.
//!
//! Needs the built app (`web/dist`, which `make test` builds) and Debian's Chromium (which
//! `make test` installs); without either the test fails saying which is missing.

#![allow(clippy::unwrap_used)]

mod system;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::analytics::v1 as analytics;
use ates_contracts::ates::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use ates_contracts::ates::auth::v1 as auth;
use ates_contracts::ates::tracker::v1 as tracker;
use ates_testkit::SmtpSink;
use system::{ADMIN_BEAK, System, signed};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Cents as the page shows money: `+$12.34`, `−$5.00`, `$0.00`.
fn money(cents: i64) -> String {
    let sign = match cents.signum() {
        1 => "+",
        -1 => "\u{2212}",
        _ => "",
    };
    let absolute = cents.unsigned_abs();
    let dollars = (absolute / 100).to_string();
    let mut grouped = String::new();
    for (index, digit) in dollars.chars().enumerate() {
        if index > 0 && (dollars.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}${grouped}.{:02}", absolute % 100)
}

/// Cents as the charts plot them: dollars, as JavaScript prints a number (`5`, `-3`, `12.5`).
fn chart_dollars(cents: i64) -> String {
    format!("{}", cents as f64 / 100.0)
}

/// Runs one phase of the browser script; its report (the last line of its output).
async fn browse(phase: &str, environment: &[(&str, String)]) -> serde_json::Value {
    let web = workspace().join("web");
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg("e2e/dashboards.mjs")
            .arg(phase)
            .current_dir(&web)
            .envs(
                environment
                    .iter()
                    .map(|(key, value)| (*key, value.as_str())),
            )
            .output(),
    )
    .await
    .expect("the browser phase finishes within 3 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "phase {phase} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("phase {phase}: {report}");
    assert!(
        report.get("pageErrors").is_none(),
        "the page threw: {report}"
    );
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboards_in_a_real_browser_show_what_the_apis_say_and_refuse_what_the_role_may_not()
{
    let dist = workspace().join("web/dist/index.html");
    assert!(
        dist.is_file(),
        "the web app is not built ({}): run `npm ci --prefix web && npm run --prefix web build`",
        dist.display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: `apt-get install chromium` (make test does)"
    );

    // The page's origin (the BFF's) is the one every browser-facing service allows.
    let bff_port = ates_testkit::free_port();
    let page_origin = format!("http://127.0.0.1:{bff_port}");
    let system = System::start_configured(&[("WEB_ALLOWED_ORIGINS", page_origin.as_str())]).await;
    let analytics = system.start_analytics().await;
    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system.start_payouts_alone(&smtp.url(), &[]).await;
    let web_root = workspace().join("web/dist");
    let bff = system::start_process_on(
        bff_port,
        "bff-svc",
        "postgres://unused.invalid/none",
        None,
        &system.broker,
        &system.auth.endpoint,
        &[
            ("WEB_ALLOWED_ORIGINS", page_origin.as_str()),
            ("ACCOUNTING_URL", system.accounting.endpoint.as_str()),
            ("BFF_WEB_ROOT", web_root.to_str().unwrap()),
            ("WEB_AUTH_URL", system.auth.endpoint.as_str()),
            ("WEB_TRACKER_URL", system.tracker.endpoint.as_str()),
            ("WEB_ANALYTICS_URL", analytics.endpoint.as_str()),
            ("WEB_PAYOUTS_URL", payouts.endpoint.as_str()),
        ],
    )
    .await;

    // The admin creates a worker and a manager (the page has no accounts screen: the API).
    let (_, admin_token) = system.sign_in(ADMIN_BEAK).await;
    let mut auth_client = system.auth().await;
    let mut beaks = Vec::new();
    for (email, role) in [
        ("web-worker@uberpopug.test", auth::Role::Worker),
        ("web-manager@uberpopug.test", auth::Role::Manager),
    ] {
        let created = auth_client
            .create_account(signed(
                auth::CreateAccountRequest {
                    email: email.to_owned(),
                    role: role as i32,
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner();
        beaks.push(created.beak);
    }
    let (worker, worker_token) = system.sign_in(&beaks[0]).await;
    // Tasks can be created once the tracker has heard of the worker (auth's event).
    let known = format!("SELECT count(*) AS n FROM accounts WHERE public_id = '{worker}'");
    let heard = ates_testkit::eventually(Duration::from_secs(30), || async {
        (system.tracker.count(&known).await == 1).then_some(())
    })
    .await;
    assert!(heard.is_some(), "the tracker never heard of the worker");
    let mut tracker_client = system.tracker().await;

    let screenshots = workspace().join("target/web-screenshots");
    let environment = vec![
        ("ATES_WEB_URL", bff.endpoint.clone()),
        ("ADMIN_BEAK", ADMIN_BEAK.to_owned()),
        ("WORKER_BEAK", beaks[0].clone()),
        ("MANAGER_BEAK", beaks[1].clone()),
        ("ATES_ANALYTICS_URL", analytics.endpoint.clone()),
        ("ATES_SCREENSHOTS", screenshots.display().to_string()),
        ("CHROMIUM", chromium),
    ];

    // The worker, in the page: two tasks created, one completed.
    let acted = browse("act", &environment).await;
    assert_eq!(
        acted["workerNavigation"],
        serde_json::json!(["Tasks", "My account"])
    );
    assert_eq!(acted["workerAtAnalytics"], "Tasks");
    assert_eq!(
        acted["workerAnalyticsCalls"], 0,
        "the page never asked analytics"
    );
    assert!(
        acted["badTitle"].as_str().unwrap().starts_with("title: "),
        "{}",
        acted["badTitle"]
    );
    assert_eq!(
        acted["forged"]["grpcStatus"], "7",
        "analytics refuses the worker's forged call"
    );
    assert!(
        acted["expired"].as_str().unwrap().contains("expired"),
        "{}",
        acted["expired"]
    );

    // What the tracker says the worker's day was, and accounting once it has settled.
    let tasks = tracker_client
        .list_my_tasks(signed(
            tracker::ListMyTasksRequest::default(),
            &worker_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let fixed = tasks
        .iter()
        .find(|task| task.title == "Fix the button")
        .unwrap();
    assert_eq!(fixed.jira_id, "UBERPOP-42");
    assert_eq!(fixed.status, tracker::TaskStatus::Done as i32);
    let balance: i64 = fixed.reward_cents - tasks.iter().map(|task| task.fee_cents).sum::<i64>();
    let mut accounting_client = system.accounting().await;
    let statement = ates_testkit::eventually(Duration::from_secs(30), || {
        let mut client = accounting_client.clone();
        let token = worker_token.clone();
        let worker = worker.clone();
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
            (statement.entries.len() == 3 && statement.closing_balance_cents == balance)
                .then_some(statement)
        }
    })
    .await
    .expect("accounting settled the worker's day");
    let today = accounting_client
        .get_today_management_earnings(signed(
            accounting::GetTodayManagementEarningsRequest {},
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .today
        .unwrap();
    let earnings = today.earnings_cents;
    let negative = accounting_client
        .list_balances(signed(
            accounting::ListBalancesRequest::default(),
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .negative_balance_count;
    // Analytics has the completion and the same earnings.
    let analytics_client = AnalyticsServiceClient::new(System::channel(&analytics.endpoint).await);
    let summary = ates_testkit::eventually(Duration::from_secs(30), || {
        let mut client = analytics_client.clone();
        let token = admin_token.clone();
        async move {
            let most = client
                .get_most_expensive_task(signed(
                    analytics::GetMostExpensiveTaskRequest {
                        period: analytics::Period::Day as i32,
                        end_date: String::new(),
                    },
                    &token,
                ))
                .await
                .ok()?
                .into_inner();
            most.task?;
            let summary = client
                .get_summary(signed(analytics::GetSummaryRequest {}, &token))
                .await
                .ok()?
                .into_inner();
            (summary.management_earnings_cents == earnings).then_some(summary)
        }
    })
    .await
    .expect("analytics saw the completion");

    // What the charts must plot: accounting's earnings of the 30 days ending today, and
    // analytics' most expensive task of each (read before the look phase's reshuffle).
    let from = (chrono::NaiveDate::parse_from_str(&today.business_date, "%Y-%m-%d").unwrap()
        - chrono::Duration::days(29))
    .to_string();
    let days = accounting_client
        .get_management_earnings(signed(
            accounting::GetManagementEarningsRequest {
                from_date: from.clone(),
                to_date: today.business_date.clone(),
            },
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .days;
    let bars: Vec<String> = days
        .iter()
        .map(|day| chart_dollars(day.earnings_cents))
        .collect();
    let management_bars = bars.join(",");
    let series = analytics_client
        .clone()
        .get_most_expensive_task_series(signed(
            analytics::GetMostExpensiveTaskSeriesRequest {
                from_date: from,
                to_date: today.business_date.clone(),
            },
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .days;
    let bars: Vec<String> = series
        .iter()
        .map(|day| chart_dollars(day.task.as_ref().map_or(0, |task| task.reward_cents)))
        .collect();
    let analytics_bars = bars.join(",");

    // Every dashboard, as the worker and the admin see them.
    let looked = browse("look", &environment).await;
    assert_eq!(
        looked["workerClosing"],
        money(statement.closing_balance_cents)
    );
    let entries = looked["workerEntries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let shown: Vec<(String, String, String, String)> = entries
        .iter()
        .map(|entry| {
            let cells: Vec<String> = entry
                .as_array()
                .unwrap()
                .iter()
                .map(|cell| cell.as_str().unwrap().to_owned())
                .collect();
            (
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
            )
        })
        .collect();
    for entry in &statement.entries {
        let kind = match accounting::EntryKind::try_from(entry.kind).unwrap() {
            accounting::EntryKind::AssignmentFee => "assignment fee",
            accounting::EntryKind::CompletionReward => "completion reward",
            _ => "payout",
        };
        let name = if entry.task_jira_id.is_empty() {
            entry.task_title.clone()
        } else {
            format!("{} \u{b7} {}", entry.task_jira_id, entry.task_title)
        };
        let line = (
            kind.to_owned(),
            name,
            entry.task_description.clone(),
            money(entry.amount_cents),
        );
        assert!(shown.contains(&line), "{line:?} not in {shown:?}");
    }
    assert_eq!(
        looked["managerNavigation"],
        serde_json::json!(["Tasks", "My account"])
    );
    assert_eq!(
        looked["adminNavigation"],
        serde_json::json!(["Tasks", "My account", "Accounting", "Analytics", "Payouts"])
    );
    assert!(
        looked["reshuffled"]
            .as_str()
            .unwrap()
            .starts_with("Reassigned 1 open task"),
        "{}",
        looked["reshuffled"]
    );
    assert_eq!(looked["managementEarnings"], money(today.earnings_cents));
    assert_eq!(looked["managementNegative"], negative.to_string());
    assert_eq!(looked["managementBars"], 1);
    assert_eq!(looked["managementBarValues"], management_bars);
    assert_eq!(looked["analyticsBarValues"], analytics_bars);
    // The payouts screen offers the services' yesterday, and closing it works from the page.
    let yesterday = (chrono::NaiveDate::parse_from_str(&today.business_date, "%Y-%m-%d").unwrap()
        - chrono::Duration::days(1))
    .to_string();
    assert_eq!(looked["payoutsDate"], yesterday);
    // Nobody earned anything that day here; the scheduled close may have been first.
    let closed = looked["payoutsClosed"].as_str().unwrap();
    assert!(
        closed.contains("0 payouts") || closed.contains("already closed"),
        "{closed}"
    );

    assert_eq!(
        looked["analyticsEarnings"],
        money(summary.management_earnings_cents)
    );
    assert_eq!(
        looked["analyticsNegative"],
        summary.negative_balance_count.to_string()
    );
    assert!(
        looked["analyticsMostToday"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "UBERPOP-42 \u{b7} Fix the button {}",
                money(fixed.reward_cents)
            )),
        "{}",
        looked["analyticsMostToday"]
    );
    for (phase, report) in [("act", &acted), ("look", &looked)] {
        eprintln!("{phase}: time to first render (ms): {}", report["timings"]);
    }
    for name in [
        "tracker-worker",
        "tracker-phone",
        "accounting-worker",
        "tracker-manager",
        "accounting-management",
        "analytics",
        "payouts",
    ] {
        let path = screenshots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 10_000),
            "{} is missing or empty",
            path.display()
        );
    }
    drop((bff, payouts, analytics, smtp));
}
