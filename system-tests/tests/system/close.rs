//! The end-of-day close as tests drive it: a business midnight a few seconds ahead (a fixed
//! UTC offset), the day run up to it, and what the close must have paid and e-mailed.

use std::collections::BTreeMap;
use std::time::Duration;

use ates_calendar::BusinessCalendar;
use ates_contracts::ates::payouts::v1 as payouts;
use ates_testkit::{SmtpSink, TestBroker};
use chrono::{NaiveDate, Timelike, Utc};

use super::day::{self, Day};
use super::{System, signed};

/// A fixed UTC offset (`+HH:MM:SS`) that puts the next business midnight `seconds` from now,
/// and the business date that ends then.
pub fn midnight_in(seconds: i64) -> (String, NaiveDate) {
    let midnight = Utc::now() + chrono::Duration::seconds(seconds);
    let of_day = i64::from(midnight.num_seconds_from_midnight());
    let mut offset = (86_400 - of_day).rem_euclid(86_400);
    if offset > 43_200 {
        offset -= 86_400;
    }
    let zone = fixed_zone(offset);
    let calendar: BusinessCalendar = zone.parse().unwrap();
    let today = calendar.date_of(Utc::now());
    assert_eq!(calendar.end_of(today).timestamp(), midnight.timestamp());
    (zone, today)
}

/// The fixed UTC offset (`+HH:MM:SS`) in which business date `date` ends `seconds` from now
/// (to the second): moving the services to it moves the business clock to a few seconds before
/// the end of `date`, however far that is.
pub fn zone_ending(date: NaiveDate, seconds: i64) -> String {
    let at = Utc::now() + chrono::Duration::seconds(seconds);
    let midnight = date
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let offset = midnight.timestamp() - at.timestamp();
    assert!(
        offset.abs() < 86_400,
        "{date} cannot end in {seconds} s at any UTC offset"
    );
    let zone = fixed_zone(offset);
    let calendar: BusinessCalendar = zone.parse().unwrap();
    assert_eq!(calendar.end_of(date).timestamp(), at.timestamp());
    zone
}

fn fixed_zone(offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let magnitude = offset.abs();
    format!(
        "{sign}{:02}:{:02}:{:02}",
        magnitude / 3_600,
        magnitude % 3_600 / 60,
        magnitude % 60
    )
}

/// A broker prefix of its own, removed afterwards.
pub fn broker() -> TestBroker {
    let mut broker = TestBroker::shared();
    let topology = ates_messaging::Topology::new(broker.prefix());
    broker.delete_on_drop(topology.all_queue_names(), topology.all_exchange_names());
    broker
}

/// Runs the day until a few seconds before `date` ends, with at least `positive` popugs owed
/// money, and checks accounting against the day's books.
pub async fn run_day_before_midnight(
    system: &System,
    day: &mut Day,
    date_end: chrono::DateTime<Utc>,
    positive: usize,
) {
    let stop_at = date_end - chrono::Duration::seconds(5);
    // A stretch of the ordinary day, then tasks created and completed (each earns more than its
    // fee) until enough popugs are owed money.
    let first = day.steps();
    while Utc::now() < stop_at && day.steps() - first < 25 {
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
pub fn owed(day: &Day) -> BTreeMap<String, i64> {
    day.books
        .balances
        .iter()
        .filter(|(_, cents)| **cents > 0)
        .map(|(account, cents)| (account.clone(), *cents))
        .collect()
}

/// `date`'s payouts as payouts lists them, every page.
pub async fn listed(endpoint: &str, admin: &str, date: NaiveDate) -> Vec<payouts::Payout> {
    let client = System::payouts(endpoint).await;
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
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Waits until `date` is paid exactly as `owed` says (every payout made and its e-mail sent).
pub async fn wait_until_paid(
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
pub fn check_emails(
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
pub async fn assert_paid_close_at_zero(
    system: &System,
    admin: &str,
    date: NaiveDate,
    made: &[payouts::Payout],
    seed: u64,
) {
    use ates_contracts::ates::accounting::v1 as accounting;
    let client = system.accounting().await;
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
}
