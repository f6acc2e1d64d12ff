//! The end-of-day close with a real auth, accounting and payouts, real PostgreSQL, RabbitMQ and
//! a real SMTP listener; the test plays the tracker.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ates_contracts::ates::auth::events::v1 as auth_events;
use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::payouts::v1 as api;
use ates_testkit::payouts::{Payroll, days_ago, during};
use ates_testkit::{SmtpMode, signed};
use tonic::Code;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn a_close_pays_exactly_the_positive_balances_through_the_day_and_emails_each_popug_once() {
    let mut payroll = Payroll::start().await;
    let day = days_ago(3);
    let (rich, rich_email, _) = payroll.popug("rich", Role::Worker).await;
    let (busy, busy_email, _) = payroll.popug("busy", Role::Accountant).await;
    let (even, _, _) = payroll.popug("even", Role::Worker).await;
    let (poor, _, _) = payroll.popug("poor", Role::Worker).await;
    // rich: +20.00; busy: two tasks, +7.00 and +15.00; even: 0; poor: -15.00 (a fee alone).
    payroll
        .task(rich, 1_000, during(day, 0), Some((3_000, during(day, 30))))
        .await;
    payroll
        .task(busy, 1_500, during(day, 1), Some((2_200, during(day, 40))))
        .await;
    payroll
        .task(busy, 1_100, during(day, 2), Some((2_600, during(day, 50))))
        .await;
    payroll
        .task(even, 2_000, during(day, 3), Some((2_000, during(day, 60))))
        .await;
    payroll.task(poor, 1_500, during(day, 4), None).await;
    payroll.settle().await;

    let closed = payroll.close(day).await;
    assert!(!closed.already_closed);
    assert!(closed.also_closed_dates.is_empty());
    let mut paid: Vec<(String, i64)> = closed
        .payouts
        .iter()
        .map(|payout| (payout.account_id.clone(), payout.amount_cents))
        .collect();
    paid.sort();
    let mut expected = vec![(rich.to_string(), 2_000), (busy.to_string(), 2_200)];
    expected.sort();
    assert_eq!(paid, expected, "exactly the positive balances");
    assert!(
        closed
            .payouts
            .iter()
            .all(|payout| payout.business_date == day.to_string())
    );

    // One e-mail per payout, to the right address, with the amount, the date and the payout.
    let emails = payroll.wait_for_emails(2).await;
    for payout in &closed.payouts {
        let address = if payout.account_id == rich.to_string() {
            &rich_email
        } else {
            &busy_email
        };
        let amount = format!(
            "${}.{:02}",
            payout.amount_cents / 100,
            payout.amount_cents % 100
        );
        let to_them: Vec<_> = emails
            .iter()
            .filter(|email| email.to == vec![address.clone()])
            .collect();
        assert_eq!(to_them.len(), 1, "one e-mail to {address}");
        let email = to_them[0];
        let text = email.text();
        for part in [amount.as_str(), &day.to_string(), &payout.payout_id] {
            assert!(text.contains(part), "{part} is not in the e-mail: {text}");
        }
        assert!(email.subject().contains(&amount));
        assert!(email.message_id().contains(&payout.payout_id));
    }

    // Accounting records each payout on the closed date: the paid close it at 0.
    let settled = ates_testkit::eventually(Duration::from_secs(20), || async {
        let balances = [
            payroll.closing_balance(rich, day).await.1,
            payroll.closing_balance(busy, day).await.1,
        ];
        (balances == [0, 0]).then_some(())
    })
    .await;
    assert!(settled.is_some(), "the paid popugs' statements close at 0");
    assert_eq!(payroll.closing_balance(even, day).await.1, 0);
    assert_eq!(
        payroll.closing_balance(poor, day).await.1,
        -1_500,
        "a negative balance is not paid"
    );
    let next_day = day.succ_opt().unwrap();
    assert_eq!(
        payroll.closing_balance(poor, next_day).await,
        (-1_500, -1_500),
        "it carries over"
    );
    assert_eq!(payroll.closing_balance(rich, next_day).await, (0, 0));

    // Closing again pays nobody and sends nothing.
    let again = payroll.close(day).await;
    assert!(again.already_closed);
    assert!(again.payouts.is_empty());
    let listed = ates_testkit::eventually(Duration::from_secs(10), || async {
        let listed = payroll.payouts_of(day).await;
        listed
            .iter()
            .all(|payout| payout.email_sent)
            .then_some(listed)
    })
    .await
    .expect("every e-mail is marked sent");
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|payout| payout.email_status == api::EmailStatus::Sent as i32)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(payroll.smtp.messages().len(), 2, "no second e-mail");
}

#[tokio::test(flavor = "multi_thread")]
async fn money_earned_after_midnight_or_heard_after_the_close_is_paid_at_the_next_close() {
    let mut payroll = Payroll::start().await;
    let (day, next) = (days_ago(4), days_ago(3));
    let (popug, _, _) = payroll.popug("night-owl", Role::Worker).await;
    payroll
        .task(popug, 1_000, during(day, 0), Some((3_000, during(day, 10))))
        .await;
    // Completed five seconds after midnight, heard before the close of `day`.
    let after_midnight = next.and_hms_opt(0, 0, 5).unwrap().and_utc();
    payroll
        .task(popug, 1_200, during(day, 20), Some((3_500, after_midnight)))
        .await;
    payroll.settle().await;

    let closed = payroll.close(day).await;
    assert_eq!(
        closed
            .payouts
            .iter()
            .map(|payout| payout.amount_cents)
            .collect::<Vec<_>>(),
        vec![3_000 - 1_000 - 1_200],
        "through the day: both fees, only the reward of the day"
    );
    // An entry about `day` heard only after `day` was closed: paid at the next close.
    payroll
        .task(
            popug,
            1_000,
            during(day, 30),
            Some((2_500, during(day, 31))),
        )
        .await;
    payroll.settle().await;

    let closed_next = payroll.close(next).await;
    assert_eq!(
        closed_next
            .payouts
            .iter()
            .map(|payout| payout.amount_cents)
            .collect::<Vec<_>>(),
        vec![3_500 + (2_500 - 1_000)],
        "the reward after midnight and the late entry about the closed day"
    );
    let settled = ates_testkit::eventually(Duration::from_secs(20), || async {
        (payroll.closing_balance(popug, next).await.1 == 0).then_some(())
    })
    .await;
    assert!(
        settled.is_some(),
        "the second payout brings the next day to 0"
    );
    // The late entry landed on the closed day, so that day's statement no longer closes at 0.
    assert_eq!(payroll.closing_balance(popug, day).await.1, 2_500 - 1_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn dates_are_closed_in_order_and_an_admin_close_first_closes_earlier_ended_dates() {
    let mut payroll = Payroll::start().await;
    let (first, second, third) = (days_ago(6), days_ago(5), days_ago(4));
    let (popug, _, _) = payroll.popug("steady", Role::Worker).await;
    payroll
        .task(
            popug,
            1_000,
            during(first, 0),
            Some((2_000, during(first, 1))),
        )
        .await;
    payroll
        .task(
            popug,
            1_000,
            during(third, 0),
            Some((4_000, during(third, 1))),
        )
        .await;
    payroll.settle().await;

    let closed = payroll.close(third).await;
    assert_eq!(
        closed.also_closed_dates,
        vec![first.to_string(), second.to_string()]
    );
    assert_eq!(
        closed
            .payouts
            .iter()
            .map(|payout| payout.amount_cents)
            .collect::<Vec<_>>(),
        vec![3_000]
    );
    assert_eq!(payroll.payouts_of(first).await.len(), 1);
    assert!(payroll.payouts_of(second).await.is_empty());
    assert!(payroll.close(second).await.already_closed);
    assert!(payroll.close(first).await.already_closed);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_waits_for_a_mail_server_that_is_down_and_for_an_address_nobody_knows_yet() {
    let mut payroll = Payroll::start().await;
    let day = days_ago(2);
    let (known, known_email, _) = payroll.popug("known", Role::Worker).await;
    // An account accounting pays but payouts has no address for yet.
    let stranger = Uuid::new_v4();
    payroll
        .task(known, 1_000, during(day, 0), Some((2_000, during(day, 1))))
        .await;
    payroll
        .task(
            stranger,
            1_000,
            during(day, 2),
            Some((3_000, during(day, 3))),
        )
        .await;
    payroll.settle().await;

    payroll.smtp.stop().await;
    let closed = payroll.close(day).await;
    assert_eq!(
        closed.payouts.len(),
        2,
        "payouts are made while the mail server is down"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let listed = payroll.payouts_of(day).await;
    let status_of = |account: Uuid, listed: &[api::Payout]| {
        listed
            .iter()
            .find(|payout| payout.account_id == account.to_string())
            .map(|payout| (payout.email_status, payout.email_sent))
            .unwrap()
    };
    assert_eq!(
        status_of(known, &listed),
        (api::EmailStatus::Pending as i32, false)
    );
    assert!(
        listed
            .iter()
            .find(|payout| payout.account_id == known.to_string())
            .is_some_and(|payout| !payout.email_error.is_empty()),
        "the failed try is shown: {listed:?}"
    );
    assert_eq!(
        status_of(stranger, &listed),
        (api::EmailStatus::WaitingForAddress as i32, false)
    );

    payroll.smtp.resume().await.unwrap();
    let emails = payroll.wait_for_emails(1).await;
    assert_eq!(emails[0].to, vec![known_email]);

    // auth announces the stranger's address: its e-mail goes out too.
    let producer = ates_testkit::ConfirmedChannel::open(&payroll.ledger.auth.broker)
        .await
        .unwrap();
    producer
        .publish_event(
            &auth_events::AccountEmailSet {
                account_id: stranger.to_string(),
                email: "stranger@uberpopug.test".to_owned(),
                revision: 1,
            },
            chrono::Utc::now(),
        )
        .await;
    let emails = payroll.wait_for_emails(2).await;
    assert_eq!(emails[1].to, vec!["stranger@uberpopug.test".to_owned()]);
    let sent = ates_testkit::eventually(Duration::from_secs(10), || async {
        let listed = payroll.payouts_of(day).await;
        listed.iter().all(|payout| payout.email_sent).then_some(())
    })
    .await;
    assert!(sent.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(payroll.smtp.messages().len(), 2, "each e-mail once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mail_server_that_refuses_for_good_is_shown_and_not_retried_and_try_later_is_retried() {
    let mut payroll = Payroll::start().await;
    let day = days_ago(2);
    let (popug, _, _) = payroll.popug("bounced", Role::Worker).await;
    payroll
        .task(popug, 1_000, during(day, 0), Some((2_000, during(day, 1))))
        .await;
    payroll.settle().await;

    payroll.smtp.set_mode(SmtpMode::RefuseForGood);
    payroll.close(day).await;
    let failed = ates_testkit::eventually(Duration::from_secs(20), || async {
        payroll
            .payouts_of(day)
            .await
            .into_iter()
            .find(|payout| payout.email_status == api::EmailStatus::Failed as i32)
    })
    .await;
    let failed = match failed {
        Some(failed) => failed,
        None => panic!(
            "the e-mail never failed for good: {:?}",
            payroll.payouts_of(day).await
        ),
    };
    assert!(failed.email_error.contains("550"), "{}", failed.email_error);
    payroll.smtp.set_mode(SmtpMode::Accept);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        payroll.smtp.messages().is_empty(),
        "a permanent refusal is not retried"
    );

    // "Try later" (4xx) is retried until the server takes it.
    let second = day.succ_opt().unwrap();
    payroll
        .task(
            popug,
            1_000,
            during(second, 0),
            Some((2_000, during(second, 1))),
        )
        .await;
    payroll.settle().await;
    payroll.smtp.set_mode(SmtpMode::RefuseForNow);
    payroll.close(second).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(payroll.smtp.messages().is_empty());
    payroll.smtp.set_mode(SmtpMode::Accept);
    let emails = payroll.wait_for_emails(1).await;
    assert!(emails[0].text().contains(&second.to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_and_disallowed_roles_are_refused_and_payouts_are_listed_a_page_at_a_time() {
    let mut payroll = Payroll::start().await;
    let day = days_ago(2);
    let mut popugs = Vec::new();
    for index in 0..3 {
        let (id, _, _) = payroll.popug(&format!("paged{index}"), Role::Worker).await;
        payroll
            .task(
                id,
                1_000,
                during(day, index),
                Some((2_000, during(day, 10 + index))),
            )
            .await;
        popugs.push(id);
    }
    let (_, _, worker) = payroll.popug("plain-worker", Role::Worker).await;
    let (_, _, manager) = payroll.popug("a-manager", Role::Manager).await;
    let (_, _, accountant) = payroll.popug("an-accountant", Role::Accountant).await;
    payroll.settle().await;

    let mut client = payroll.client().await;
    let admin = payroll.admin().to_owned();
    let close = |date: String, token: String| {
        let mut client = client.clone();
        async move {
            client
                .close_business_day(signed(
                    api::CloseBusinessDayRequest {
                        business_date: date,
                    },
                    &token,
                ))
                .await
                .unwrap_err()
        }
    };
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    ates_testkit::assert_refusals(&[
        (
            "empty date",
            close(String::new(), admin.clone()).await,
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "loose date",
            close("2026-1-5".into(), admin.clone()).await,
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "no such day",
            close("2026-02-30".into(), admin.clone()).await,
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "today",
            close(today.to_string(), admin.clone()).await,
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "the future",
            close(tomorrow.to_string(), admin.clone()).await,
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "a worker closes",
            close(day.to_string(), worker.clone()).await,
            Code::PermissionDenied,
            "role",
        ),
        (
            "a manager closes",
            close(day.to_string(), manager.clone()).await,
            Code::PermissionDenied,
            "role",
        ),
        (
            "an accountant closes",
            close(day.to_string(), accountant.clone()).await,
            Code::PermissionDenied,
            "role",
        ),
    ]);
    assert!(
        payroll.payouts_of(day).await.is_empty(),
        "nothing was closed by the refused calls"
    );
    payroll.close(day).await;

    // Accountants list; a page at a time, in account order.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_payouts(signed(
                api::ListPayoutsRequest {
                    business_date: day.to_string(),
                    page_size: 2,
                    page_token: token.clone(),
                },
                &accountant,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.payouts.len() <= 2);
        seen.extend(page.payouts.into_iter().map(|payout| payout.account_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut expected: Vec<String> = popugs.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(seen, expected);
    let list = |request: api::ListPayoutsRequest, token: String| {
        let mut client = client.clone();
        async move {
            client
                .list_payouts(signed(request, &token))
                .await
                .unwrap_err()
        }
    };
    ates_testkit::assert_refusals(&[
        (
            "a worker lists",
            list(
                api::ListPayoutsRequest {
                    business_date: day.to_string(),
                    ..Default::default()
                },
                worker.clone(),
            )
            .await,
            Code::PermissionDenied,
            "role",
        ),
        (
            "malformed date",
            list(
                api::ListPayoutsRequest {
                    business_date: "yesterday".into(),
                    ..Default::default()
                },
                admin.clone(),
            )
            .await,
            Code::InvalidArgument,
            "business_date",
        ),
        (
            "forged token",
            list(
                api::ListPayoutsRequest {
                    business_date: day.to_string(),
                    page_token: "AAAA".into(),
                    ..Default::default()
                },
                admin.clone(),
            )
            .await,
            Code::InvalidArgument,
            "page_token",
        ),
        (
            "page too big",
            list(
                api::ListPayoutsRequest {
                    business_date: day.to_string(),
                    page_size: 5_000,
                    ..Default::default()
                },
                admin.clone(),
            )
            .await,
            Code::InvalidArgument,
            "page_size",
        ),
    ]);
    let _ = &mut client;
}
