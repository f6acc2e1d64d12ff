//! The end-of-day close with the real binaries, at a real business-day boundary (a fixed UTC
//! offset puts midnight a few seconds ahead): the scheduled close fires by itself, once across
//! two payouts replicas; a close killed half-way resumes; a sender killed between the mail
//! server's acceptance and its record sends at most one duplicate, with the same Message-ID.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_calendar::BusinessCalendar;
use ates_contracts::ates::payouts::v1 as payouts;
use ates_testkit::{SmtpSink, TestDatabase};
use system::close::{
    assert_paid_close_at_zero, broker, check_emails, listed, midnight_in, owed,
    run_day_before_midnight, wait_until_paid,
};
use system::day::{self, Day};
use system::{ADMIN_BEAK, Process, System, signed};

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_close_fires_at_midnight_and_pays_once_across_two_replicas() {
    let seed = day::seed(20_261_201);
    let (zone, date) = midnight_in(25);
    let system = System::start_with(broker(), &[], &[("BUSINESS_TIME_ZONE", zone.as_str())]).await;
    let smtp = SmtpSink::start().await.unwrap();
    let database = TestDatabase::create().await.unwrap();
    let url = database.url().to_owned();
    let first = system
        .start_payouts(&url, Some(database), &smtp.url(), &[])
        .await;
    let second = system.start_payouts(&url, None, &smtp.url(), &[]).await;
    let calendar: BusinessCalendar = zone.parse().unwrap();

    let mut day = Day::begin(&system, seed).await;
    run_day_before_midnight(&system, &mut day, calendar.end_of(date), 2).await;
    let owed = owed(&day);
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    // Nobody calls CloseBusinessDay: the scheduled close of both replicas fires at midnight.
    let made = wait_until_paid(&first.endpoint, &admin, date, &owed, seed).await;
    assert_eq!(
        listed(&second.endpoint, &admin, date).await.len(),
        made.len()
    );
    let copies = check_emails(&smtp, &made, &day.emails, seed);
    assert!(
        copies.values().all(|count| *count == 1),
        "seed {seed}: one e-mail each: {copies:?}"
    );
    assert_paid_close_at_zero(&system, &admin, date, &made, seed).await;

    // Both replicas asked to close the day again at once: nobody is paid twice.
    let close = |process: &Process| {
        let request = signed(
            payouts::CloseBusinessDayRequest {
                business_date: date.to_string(),
            },
            &admin,
        );
        let endpoint = process.endpoint.clone();
        async move {
            System::payouts(&endpoint)
                .await
                .close_business_day(request)
                .await
        }
    };
    let (one, two) = tokio::join!(close(&first), close(&second));
    for answer in [one.unwrap().into_inner(), two.unwrap().into_inner()] {
        assert!(answer.already_closed, "seed {seed}");
        assert!(answer.payouts.is_empty(), "seed {seed}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        smtp.messages().len(),
        made.len(),
        "seed {seed}: no second e-mail"
    );
    system.assert_no_dead_letters(seed).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_close_killed_after_its_first_payouts_resumes_and_pays_each_remaining_popug_once() {
    let seed = day::seed(20_261_202);
    let (zone, date) = midnight_in(25);
    let system = System::start_with(broker(), &[], &[("BUSINESS_TIME_ZONE", zone.as_str())]).await;
    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system
        .start_payouts_alone(
            &smtp.url(),
            &[
                ("ATES_FAULT_POINT", "payouts.close.after_batch"),
                ("PAYOUTS_CLOSE_BATCH_SIZE", "1"),
            ],
        )
        .await;
    let calendar: BusinessCalendar = zone.parse().unwrap();

    let mut day = Day::begin(&system, seed).await;
    run_day_before_midnight(&system, &mut day, calendar.end_of(date), 2).await;
    let owed = owed(&day);
    payouts
        .wait_died_at_fault_point(Duration::from_secs(30))
        .await;
    payouts.set_env("ATES_FAULT_POINT", None);
    payouts.restart().await;
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    let made = wait_until_paid(&payouts.endpoint, &admin, date, &owed, seed).await;
    let copies = check_emails(&smtp, &made, &day.emails, seed);
    assert!(
        copies.values().all(|count| *count == 1),
        "seed {seed}: one e-mail each: {copies:?}"
    );
    assert_paid_close_at_zero(&system, &admin, date, &made, seed).await;
    system.assert_no_dead_letters(seed).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_after_the_server_accepted_sends_at_most_one_duplicate_with_the_same_message_id()
 {
    let seed = day::seed(20_261_203);
    let (zone, date) = midnight_in(25);
    let system = System::start_with(broker(), &[], &[("BUSINESS_TIME_ZONE", zone.as_str())]).await;
    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system
        .start_payouts_alone(
            &smtp.url(),
            &[
                ("ATES_FAULT_POINT", "payouts.email.after_accepted"),
                ("PAYOUTS_EMAIL_SENDERS", "1"),
            ],
        )
        .await;
    let calendar: BusinessCalendar = zone.parse().unwrap();

    let mut day = Day::begin(&system, seed).await;
    run_day_before_midnight(&system, &mut day, calendar.end_of(date), 2).await;
    let owed = owed(&day);
    payouts
        .wait_died_at_fault_point(Duration::from_secs(30))
        .await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "seed {seed}: the server took one e-mail before the crash"
    );
    payouts.set_env("ATES_FAULT_POINT", None);
    payouts.restart().await;
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;
    let made = wait_until_paid(&payouts.endpoint, &admin, date, &owed, seed).await;
    let copies = check_emails(&smtp, &made, &day.emails, seed);
    let duplicated: Vec<_> = copies.iter().filter(|(_, count)| **count > 1).collect();
    assert_eq!(
        duplicated.len(),
        1,
        "seed {seed}: exactly the e-mail in flight again: {copies:?}"
    );
    assert_eq!(*duplicated[0].1, 2, "seed {seed}: at most one duplicate");
    assert_eq!(
        smtp.messages()[0].message_id(),
        *duplicated[0].0,
        "seed {seed}: the duplicate is the e-mail in flight at the crash, same Message-ID"
    );
    system.assert_no_dead_letters(seed).await;
}
