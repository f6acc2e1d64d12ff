//! The end-of-day close with the real binaries, at a real business-day boundary (a fixed UTC
//! offset puts midnight a few seconds ahead): the scheduled close fires by itself, once across
//! two payouts replicas; a close killed half-way resumes; a sender killed between the mail
//! server's acceptance and its record sends at most one duplicate, with the same Message-ID.

#![allow(clippy::unwrap_used)]

mod system;

use std::collections::BTreeMap;
use std::time::Duration;

use ates_calendar::BusinessCalendar;
use ates_contracts::ates::payouts::v1 as payouts;
use ates_testkit::{SmtpSink, TestBroker, TestDatabase};
use chrono::{NaiveDate, Timelike, Utc};
use system::day::{self, Day};
use system::{ADMIN_BEAK, Process, System, signed};

/// A fixed UTC offset (`+HH:MM:SS`) that puts the next business midnight `seconds` from now,
/// and the business date that ends then.
fn midnight_in(seconds: i64) -> (String, NaiveDate) {
    let midnight = Utc::now() + chrono::Duration::seconds(seconds);
    let of_day = i64::from(midnight.num_seconds_from_midnight());
    let mut offset = (86_400 - of_day).rem_euclid(86_400);
    if offset > 43_200 {
        offset -= 86_400;
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let magnitude = offset.abs();
    let zone = format!(
        "{sign}{:02}:{:02}:{:02}",
        magnitude / 3_600,
        magnitude % 3_600 / 60,
        magnitude % 60
    );
    let calendar: BusinessCalendar = zone.parse().unwrap();
    let today = calendar.date_of(Utc::now());
    assert_eq!(calendar.end_of(today).timestamp(), midnight.timestamp());
    (zone, today)
}

/// A broker prefix of its own, removed afterwards.
fn broker() -> TestBroker {
    let mut broker = TestBroker::shared();
    let topology = ates_messaging::Topology::new(broker.prefix());
    broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
    broker
}

/// Runs the day until a few seconds before `date` ends, with at least `positive` popugs owed
/// money, and checks accounting against the day's books.
async fn run_day_before_midnight(
    system: &System,
    day: &mut Day,
    date_end: chrono::DateTime<Utc>,
    positive: usize,
) {
    let stop_at = date_end - chrono::Duration::seconds(5);
    // A stretch of the ordinary day, then tasks created and completed (each earns more than its
    // fee) until enough popugs are owed money.
    while Utc::now() < stop_at && day.steps() < 25 {
        day.step().await;
    }
    while Utc::now() < stop_at && owed(day).len() < positive {
        day.act(day::CREATE).await;
        for _ in 0..4 {
            day.act(day::COMPLETE).await;
        }
    }
    assert!(
        owed(day).len() >= positive,
        "seed {}: only {} popugs are owed money before midnight",
        day.seed,
        owed(day).len()
    );
    assert!(
        Utc::now() < date_end,
        "seed {}: the day ran past midnight",
        day.seed
    );
    day.settle_and_check(system, Duration::from_secs(4)).await;
}

/// What the day's books say each popug is owed: its positive balances.
fn owed(day: &Day) -> BTreeMap<String, i64> {
    day.books
        .balances
        .iter()
        .filter(|(_, cents)| **cents > 0)
        .map(|(account, cents)| (account.clone(), *cents))
        .collect()
}

/// `date`'s payouts as payouts lists them, every page.
async fn listed(endpoint: &str, admin: &str, date: NaiveDate) -> Vec<payouts::Payout> {
    let mut client = System::payouts(endpoint).await;
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = day::persist(|| {
            let mut client = client.clone();
            let request = signed(
                payouts::ListPayoutsRequest {
                    business_date: date.to_string(),
                    page_size: 1_000,
                    page_token: page_token.clone(),
                },
                admin,
            );
            async move { client.list_payouts(request).await }
        })
        .await
        .unwrap()
        .into_inner();
        all.extend(page.payouts);
        if page.next_page_token.is_empty() {
            let _ = &mut client;
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Waits until `date` is paid exactly as `owed` says (every payout made and its e-mail sent).
async fn wait_until_paid(
    endpoint: &str,
    admin: &str,
    date: NaiveDate,
    owed: &BTreeMap<String, i64>,
    seed: u64,
) -> Vec<payouts::Payout> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let made = listed(endpoint, admin, date).await;
        let paid: BTreeMap<String, i64> = made
            .iter()
            .map(|payout| (payout.account_id.clone(), payout.amount_cents))
            .collect();
        if &paid == owed && made.iter().all(|payout| payout.email_sent) {
            assert_eq!(
                made.len(),
                paid.len(),
                "seed {seed}: one payout per account"
            );
            return made;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "seed {seed}: {date} was not paid as owed: owed {owed:?}, paid {paid:?}, payouts {made:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every payout has its e-mail (to the popug's address, with the amount and its Message-ID);
/// returns how many copies of each Message-ID arrived.
fn check_emails(
    smtp: &SmtpSink,
    made: &[payouts::Payout],
    emails: &BTreeMap<String, String>,
    seed: u64,
) -> BTreeMap<String, usize> {
    let messages = smtp.messages();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for message in &messages {
        *copies.entry(message.message_id()).or_default() += 1;
    }
    for payout in made {
        let of_payout: Vec<_> = messages
            .iter()
            .filter(|message| message.message_id().contains(&payout.payout_id))
            .collect();
        assert!(
            !of_payout.is_empty(),
            "seed {seed}: no e-mail for payout {}",
            payout.payout_id
        );
        let amount = format!(
            "${}.{:02}",
            payout.amount_cents / 100,
            payout.amount_cents % 100
        );
        for message in of_payout {
            assert_eq!(
                message.to,
                vec![emails[&payout.account_id].clone()],
                "seed {seed}"
            );
            assert!(
                message.text().contains(&amount),
                "seed {seed}: {}",
                message.text()
            );
        }
    }
    assert_eq!(
        copies.len(),
        made.len(),
        "seed {seed}: e-mails for payouts that do not exist"
    );
    copies
}

/// Accounting's statement of `date` closes at 0 for every paid popug.
async fn assert_paid_close_at_zero(
    system: &System,
    admin: &str,
    date: NaiveDate,
    made: &[payouts::Payout],
    seed: u64,
) {
    use ates_contracts::ates::accounting::v1 as accounting;
    let mut client = system.accounting().await;
    for payout in made {
        let closed = ates_testkit::eventually(Duration::from_secs(20), || {
            let mut client = client.clone();
            let request = signed(
                accounting::GetStatementRequest {
                    account_id: payout.account_id.clone(),
                    business_date: date.to_string(),
                    ..Default::default()
                },
                admin,
            );
            async move {
                let statement = client.get_statement(request).await.ok()?.into_inner();
                (statement.closing_balance_cents == 0).then_some(())
            }
        })
        .await;
        assert!(
            closed.is_some(),
            "seed {seed}: {}'s statement of {date} does not close at 0",
            payout.account_id
        );
    }
    let _ = &mut client;
}

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
    assert!(
        payouts.wait_exited(Duration::from_secs(30)).await,
        "seed {seed}: payouts did not die after its first payout"
    );
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
    assert!(
        payouts.wait_exited(Duration::from_secs(30)).await,
        "seed {seed}: payouts did not die after the server accepted an e-mail"
    );
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
