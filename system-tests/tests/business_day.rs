//! Business days through all six real binaries, checked against books the test keeps from
//! nothing but what the APIs answered. The services' business time zone is a fixed UTC offset
//! that puts each midnight a few seconds ahead (moved on between the days, as a clock would
//! move; no date is faked in the data), so the scheduled close fires by itself at two real
//! business-day boundaries. The first day's tasks travel as version 1 events, the second's as
//! version 2. Afterwards every payout (account, amount, date), every e-mail (address, amount,
//! exactly one per payout), every statement of every date (opening, entries with the payout,
//! closing at 0 for each paid popug, negative balances carried over unpaid), management's
//! earnings, analytics and the BFF's dashboards equal the books to the cent.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_calendar::BusinessCalendar;
use ates_contracts::ates::payouts::v1 as payouts;
use ates_testkit::SmtpSink;
use chrono::Utc;
use system::close::{broker, check_emails, run_day_before_midnight, wait_until_paid, zone_ending};
use system::day::{self, Day};
use system::{ADMIN_BEAK, System};

/// Seconds from the test's start to the end of the first business date.
const FIRST_DAY_SECONDS: i64 = 45;
/// Seconds from the move of the clock to the end of the second business date.
const SECOND_DAY_SECONDS: i64 = 30;

/// Waits until the open date of `day` has ended (and the close's grace has passed), closes it
/// in the books, and waits until payouts paid it exactly as the books say, each payout with its
/// e-mail sent. Returns the payouts.
async fn midnight(day: &mut Day, payouts_endpoint: &str, admin: &str) -> Vec<payouts::Payout> {
    let date = day.date;
    let end = day.calendar.end_of(date);
    while Utc::now() <= end + chrono::Duration::milliseconds(300) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calendar = day.calendar;
    let owed = day.close_date(calendar);
    assert!(
        !owed.is_empty(),
        "seed {}: nobody was owed on {date}",
        day.seed
    );
    // Nobody calls CloseBusinessDay: payouts' schedule closes the date by itself.
    let made = wait_until_paid(payouts_endpoint, admin, date, &owed, day.seed).await;
    eprintln!(
        "seed {}: {date} closed: {} payouts, {} ¢; carried over unpaid: {:?}",
        day.seed,
        made.len(),
        owed.values().sum::<i64>(),
        day.books
            .balances
            .values()
            .filter(|cents| **cents < 0)
            .collect::<Vec<_>>()
    );
    made
}

#[tokio::test(flavor = "multi_thread")]
async fn two_business_days_through_all_six_services_pay_mail_and_report_exactly_what_the_books_say()
{
    let seed = day::seed(20_261_125);
    // The services start in UTC; once all run, the clock moves to a zone at or behind UTC in
    // which the first date ends in FIRST_DAY_SECONDS (so that the clock can move a day ahead).
    let mut system = System::start_with(
        broker(),
        &[],
        &[
            ("BUSINESS_TIME_ZONE", "+00:00"),
            ("TRACKER_TASK_EVENTS_VERSION", "v1"),
            ("TRACKER_BACKFILL_INTERVAL_SECONDS", "1"),
        ],
    )
    .await;
    let analytics = system.start_analytics().await;
    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system.start_payouts_alone(&smtp.url(), &[]).await;
    let bff = system.start_bff().await;
    let first_date = (Utc::now() + chrono::Duration::seconds(FIRST_DAY_SECONDS))
        .date_naive()
        .pred_opt()
        .unwrap();
    let first_zone = zone_ending(first_date, FIRST_DAY_SECONDS);
    for process in [&system.accounting, &analytics, &payouts] {
        process.set_env("BUSINESS_TIME_ZONE", Some(&first_zone));
        process.restart().await;
    }
    system.set_setting("BUSINESS_TIME_ZONE", &first_zone);
    let (_, admin) = system.sign_in(ADMIN_BEAK).await;

    // The first date, old clients' events (v1).
    let mut day = Day::begin(&system, seed).await;
    day.titles_announced = false;
    assert_eq!(
        day.date, first_date,
        "seed {seed}: the services restarted too slowly"
    );
    let end = day.calendar.end_of(first_date);
    run_day_before_midnight(&system, &mut day, end, 2).await;
    let mut made = midnight(&mut day, &payouts.endpoint, &admin).await;

    // The clock moves on to a few seconds before the end of the second date: the services that
    // count business days restart in the new zone, and the tracker publishes v2 from now on.
    let second_date = day.date;
    let second_zone = zone_ending(second_date, SECOND_DAY_SECONDS);
    for process in [&system.accounting, &analytics, &payouts] {
        process.set_env("BUSINESS_TIME_ZONE", Some(&second_zone));
        process.restart().await;
    }
    system
        .tracker
        .set_env("TRACKER_TASK_EVENTS_VERSION", Some("v2"));
    system.tracker.restart().await;
    // Its backfill announces the titles of the tasks the first date created.
    day.titles_announced = true;
    day.calendar = second_zone.parse::<BusinessCalendar>().unwrap();
    assert_eq!(day.calendar.date_of(Utc::now()), second_date);
    let end = day.calendar.end_of(second_date);
    run_day_before_midnight(&system, &mut day, end, 2).await;
    made.extend(midnight(&mut day, &payouts.endpoint, &admin).await);

    // Each payout has exactly one e-mail, to its popug, with its amount.
    let copies = check_emails(&smtp, &made, &day.emails, seed);
    assert!(
        copies.values().all(|count| *count == 1),
        "seed {seed}: one e-mail per payout: {copies:?}"
    );
    // Some popug went into the night owing money; it was carried over, not paid.
    assert!(
        day.books
            .closed
            .iter()
            .any(|closed| closed.closing.values().any(|cents| *cents < 0)),
        "seed {seed}: no negative balance was ever carried over"
    );

    // The third date is open and empty. Every statement of the three dates, the earnings per
    // date, analytics and the BFF equal the books.
    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(60)).await;
    day.check_analytics(&system, &analytics.endpoint, Duration::from_secs(60))
        .await;
    day.check_bff(&bff.endpoint, Duration::from_secs(30)).await;
    system.assert_no_dead_letters(seed).await;
}
