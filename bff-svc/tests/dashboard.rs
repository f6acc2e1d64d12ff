//! The BFF in front of a real accounting (and a real auth for tokens), called over gRPC and over
//! gRPC-web as a browser calls it: every answer is accounting's, read with the caller's own token.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::bff::v1 as api;
use ates_contracts::ates::bff::v1::accounting_dashboard_service_client::AccountingDashboardServiceClient;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_testkit::accounting::{Ledger, assignment, timestamp};
use ates_testkit::auth::Auth;
use ates_testkit::{RunningService, grpc_web_call, preflight, signed};
use bff_svc::config::BffConfig;
use chrono::Utc;
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

/// The origin `ates_testkit::service_config` allows: the local web app's.
const ALLOWED: &str = "http://127.0.0.1:50055";

/// A BFF whose accounting is at `accounting_url`, verifying tokens with `auth`.
async fn bff(auth: &Auth, accounting_url: String, timeout: Duration) -> RunningService {
    let config = ates_testkit::service_config(
        "postgres://unused.invalid/none",
        &auth.broker,
        &auth.endpoint(),
    );
    RunningService::start(bff_svc::app::spec(), config, move |application| {
        bff_svc::app::wiring_with(
            application,
            BffConfig {
                accounting_url,
                accounting_timeout: timeout,
                ..BffConfig::local()
            },
        )
    })
    .await
    .unwrap()
}

async fn client(bff: &RunningService) -> AccountingDashboardServiceClient<Channel> {
    AccountingDashboardServiceClient::connect(bff.endpoint())
        .await
        .unwrap()
}

/// A popug of `role` with a token.
async fn popug(auth: &Auth, name: &str, role: Role) -> (Uuid, String) {
    let (account, beak) = auth.create(&format!("{name}@uberpopug.test"), role).await;
    (
        account.account_id.parse().unwrap(),
        auth.sign_in(&beak).await.access_token,
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The tracker's `TaskAdded` of a new task assigned to `assignee` now: the fee is charged.
async fn charge(ledger: &mut Ledger, assignee: Uuid, fee_cents: i64) -> Uuid {
    let (task, now) = (Uuid::new_v4(), Utc::now());
    ledger
        .publish(
            &tracker::TaskAdded {
                task_id: task.to_string(),
                assignment: Some(assignment(task, assignee, fee_cents, now)),
                creator_id: Uuid::new_v4().to_string(),
            },
            now,
        )
        .await;
    task
}

#[tokio::test(flavor = "multi_thread")]
async fn each_caller_gets_what_accounting_gives_their_own_token_over_grpc_and_grpc_web() {
    let mut ledger = Ledger::start().await;
    let bff = bff(
        &ledger.auth,
        ledger.accounting.endpoint(),
        Duration::from_secs(3),
    )
    .await;
    let (worker, worker_token) = popug(&ledger.auth, "worker", Role::Worker).await;
    let (other, other_token) = popug(&ledger.auth, "other", Role::Worker).await;
    let (_, accountant_token) = popug(&ledger.auth, "accountant", Role::Accountant).await;
    let admin_token = ledger.auth.admin_token().await;
    let task = charge(&mut ledger, worker, 1_500).await;
    let now = Utc::now();
    ledger
        .publish(
            &tracker::TaskCompleted {
                task_id: task.to_string(),
                assignee_id: worker.to_string(),
                reward_cents: 3_000,
                completed_at: Some(timestamp(now)),
            },
            now,
        )
        .await;
    charge(&mut ledger, other, 2_000).await;
    ledger.settle().await;
    let mut dashboard = client(&bff).await;

    // A worker's own dashboard is accounting's statement of the worker, read with their token.
    let mine = dashboard
        .get_my_dashboard(signed(api::GetMyDashboardRequest::default(), &worker_token))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    let direct = AccountingServiceClient::connect(ledger.accounting.endpoint())
        .await
        .unwrap()
        .get_statement(signed(
            accounting::GetStatementRequest {
                account_id: worker.to_string(),
                page_size: 1_000,
                ..Default::default()
            },
            &worker_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine, direct);
    assert_eq!(mine.account_id, worker.to_string());
    assert_eq!(mine.closing_balance_cents, 1_500);
    assert_eq!(mine.entries.len(), 2);

    // The same over gRPC-web, as the page calls it.
    let web = grpc_web_call(
        bff.address(),
        "/ates.bff.v1.AccountingDashboardService/GetMyDashboard",
        &api::GetMyDashboardRequest::default(),
        &[
            ("origin", ALLOWED),
            ("authorization", &bearer(&worker_token)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(web.grpc_status, Some(0), "{}", web.grpc_message);
    assert_eq!(web.headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(
        web.decode::<api::GetMyDashboardResponse>()
            .unwrap()
            .statement
            .unwrap(),
        direct
    );

    // Another account's statement: refused to a worker, given to accountants and admins.
    let refused = dashboard
        .get_account_statement(signed(
            api::GetAccountStatementRequest {
                account_id: other.to_string(),
                ..Default::default()
            },
            &worker_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused_web = grpc_web_call(
        bff.address(),
        "/ates.bff.v1.AccountingDashboardService/GetAccountStatement",
        &api::GetAccountStatementRequest {
            account_id: other.to_string(),
            ..Default::default()
        },
        &[
            ("origin", ALLOWED),
            ("authorization", &bearer(&worker_token)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(refused_web.grpc_status, Some(Code::PermissionDenied as i32));
    for token in [&accountant_token, &admin_token] {
        let theirs = dashboard
            .get_account_statement(signed(
                api::GetAccountStatementRequest {
                    account_id: other.to_string(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .statement
            .unwrap();
        assert_eq!(theirs.closing_balance_cents, -2_000);
    }
    // The other worker's own dashboard shows their money, not the first worker's.
    let theirs = dashboard
        .get_my_dashboard(signed(api::GetMyDashboardRequest::default(), &other_token))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(
        (theirs.account_id, theirs.closing_balance_cents),
        (other.to_string(), -2_000)
    );

    // Accounting's refusals pass through with their status and the field they name.
    for (request, field) in [
        (
            api::GetMyDashboardRequest {
                business_date: "2026-02-30".to_owned(),
                ..Default::default()
            },
            "business_date",
        ),
        (
            api::GetMyDashboardRequest {
                page_token: "garbage".to_owned(),
                ..Default::default()
            },
            "page_token",
        ),
    ] {
        let status = dashboard
            .get_my_dashboard(signed(request, &worker_token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(field), "{}", status.message());
    }
    let unknown = dashboard
        .get_account_statement(signed(
            api::GetAccountStatementRequest {
                account_id: Uuid::new_v4().to_string(),
                ..Default::default()
            },
            &admin_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let malformed = dashboard
        .get_account_statement(signed(
            api::GetAccountStatementRequest {
                account_id: "not-a-uuid".to_owned(),
                ..Default::default()
            },
            &admin_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert!(malformed.message().starts_with("account_id"));
    // No token, no answer.
    let anonymous = dashboard
        .get_my_dashboard(api::GetMyDashboardRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_management_dashboard_is_accountings_figures_for_bookkeepers_only() {
    let mut ledger = Ledger::start().await;
    let bff = bff(
        &ledger.auth,
        ledger.accounting.endpoint(),
        Duration::from_secs(3),
    )
    .await;
    let (worker, worker_token) = popug(&ledger.auth, "worker", Role::Worker).await;
    let (_, manager_token) = popug(&ledger.auth, "manager", Role::Manager).await;
    let admin_token = ledger.auth.admin_token().await;
    for fee in [1_000, 1_700] {
        charge(&mut ledger, worker, fee).await;
    }
    ledger.settle().await;
    let mut dashboard = client(&bff).await;

    let answer = dashboard
        .get_management_dashboard(signed(
            api::GetManagementDashboardRequest::default(),
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner();
    let today = answer.today.clone().unwrap();
    assert_eq!(
        (today.fees_cents, today.rewards_cents, today.earnings_cents),
        (2_700, 0, 2_700)
    );
    assert_eq!(answer.negative_balance_count, 1);
    assert_eq!(answer.days.len(), 30, "today and the 29 days before");
    assert_eq!(answer.days.last().unwrap(), &today);
    assert_eq!(answer.total_earnings_cents, 2_700);
    let direct = AccountingServiceClient::connect(ledger.accounting.endpoint())
        .await
        .unwrap()
        .get_management_earnings(signed(
            accounting::GetManagementEarningsRequest {
                from_date: answer.days[0].business_date.clone(),
                to_date: today.business_date.clone(),
            },
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.days, direct.days);

    // A range of the caller's choosing; a reversed one is accounting's INVALID_ARGUMENT.
    let ranged = dashboard
        .get_management_dashboard(signed(
            api::GetManagementDashboardRequest {
                from_date: "2026-01-01".to_owned(),
                to_date: "2026-01-07".to_owned(),
            },
            &admin_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ranged.days.len(), 7);
    for (from_date, to_date, field) in [
        ("2026-01-07", "2026-01-01", "to_date"),
        ("", "yesterday", "to_date"),
        ("2026-1-1", "2026-01-07", "from_date"),
    ] {
        let status = dashboard
            .get_management_dashboard(signed(
                api::GetManagementDashboardRequest {
                    from_date: from_date.to_owned(),
                    to_date: to_date.to_owned(),
                },
                &admin_token,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{from_date}..{to_date}"
        );
        assert!(
            status.message().contains(field),
            "{from_date}..{to_date}: {}",
            status.message()
        );
    }

    for token in [&worker_token, &manager_token] {
        let refused = dashboard
            .get_management_dashboard(signed(api::GetManagementDashboardRequest::default(), token))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn accounting_down_or_silent_is_unavailable_with_a_clear_message() {
    let auth = Auth::start().await;
    let admin_token = auth.admin_token().await;
    // Nothing listens here.
    let down = bff(
        &auth,
        format!("http://127.0.0.1:{}", ates_testkit::free_port()),
        Duration::from_secs(2),
    )
    .await;
    // This one accepts connections and never answers.
    let silent_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = bff(
        &auth,
        format!("http://{}", silent_listener.local_addr().unwrap()),
        Duration::from_millis(500),
    )
    .await;
    for bff in [&down, &silent] {
        let status = client(bff)
            .await
            .get_management_dashboard(signed(
                api::GetManagementDashboardRequest::default(),
                &admin_token,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            status
                .message()
                .starts_with("accounting-svc is unavailable"),
            "{}",
            status.message()
        );
        let web = grpc_web_call(
            bff.address(),
            "/ates.bff.v1.AccountingDashboardService/GetMyDashboard",
            &api::GetMyDashboardRequest::default(),
            &[
                ("origin", ALLOWED),
                ("authorization", &bearer(&admin_token)),
            ],
        )
        .await
        .unwrap();
        assert_eq!(web.grpc_status, Some(Code::Unavailable as i32));
        assert!(web.grpc_message.contains("accounting-svc is unavailable"));
    }
    drop(silent_listener);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_configured_origins_may_call_the_bff_from_a_page() {
    let auth = Auth::start().await;
    let bff = bff(
        &auth,
        format!("http://127.0.0.1:{}", ates_testkit::free_port()),
        Duration::from_secs(1),
    )
    .await;
    let path = "/ates.bff.v1.AccountingDashboardService/GetMyDashboard";
    let allowed = preflight(bff.address(), path, ALLOWED).await.unwrap();
    assert!(allowed.status().is_success(), "{:?}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED);
    for foreign in ["http://evil.example", "http://127.0.0.1:50052", "null"] {
        let refused = preflight(bff.address(), path, foreign).await.unwrap();
        assert!(
            !refused
                .headers()
                .contains_key("access-control-allow-origin"),
            "{foreign} was allowed"
        );
        let call = grpc_web_call(
            bff.address(),
            path,
            &api::GetMyDashboardRequest::default(),
            &[("origin", foreign)],
        )
        .await
        .unwrap();
        assert!(
            !call.headers.contains_key("access-control-allow-origin"),
            "the page from {foreign} may not read the answer"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_gets_its_config_and_an_unbuilt_app_says_how_to_build_it() {
    use bytes::Bytes;
    use http_body_util::Full;

    let auth = Auth::start().await;
    let missing = std::env::temp_dir().join(format!("ates-no-web-{}", Uuid::new_v4()));
    let config = ates_testkit::service_config(
        "postgres://unused.invalid/none",
        &auth.broker,
        &auth.endpoint(),
    );
    let web = bff_svc::config::WebConfig {
        root: missing.clone(),
        auth_url: "http://auth.example:1".to_owned(),
        tracker_url: String::new(),
        ..BffConfig::local().web
    };
    let bff = RunningService::start(bff_svc::app::spec(), config, move |application| {
        bff_svc::app::wiring_with(
            application,
            BffConfig {
                web,
                ..BffConfig::local()
            },
        )
    })
    .await
    .unwrap();
    let get = |path: &str| {
        http::Request::get(format!("http://{}{path}", bff.address()))
            .header("host", bff.address().to_string())
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let config = ates_testkit::http1(bff.address(), get("/config.json"))
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    assert_eq!(config.headers()["content-type"], "application/json");
    let addresses: serde_json::Value = serde_json::from_slice(config.body()).unwrap();
    assert_eq!(addresses["auth"], "http://auth.example:1");
    assert_eq!(addresses["tracker"], "", "empty: the page's own origin");
    assert_eq!(addresses["bff"], "");
    let page = ates_testkit::http1(bff.address(), get("/")).await.unwrap();
    assert_eq!(page.status(), 503);
    let text = String::from_utf8_lossy(page.body()).into_owned();
    assert!(
        text.contains("not built") && text.contains("make up"),
        "{text}"
    );
}
