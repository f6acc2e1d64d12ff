//! analytics through the real binaries: a seeded day answered equal to the test's books and to
//! accounting's own figures, and the same after analytics lost its database mid-day and rebuilt
//! it from the producers' snapshots while the day went on.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use ates_testkit::TestDatabase;
use system::System;
use system::day::{self, Day};

#[tokio::test(flavor = "multi_thread")]
async fn analytics_equals_the_books_and_accounting_and_rebuilds_after_losing_its_database() {
    let seed = day::seed(20_261_202);
    let system = System::start().await;
    let mut analytics = system.start_analytics().await;
    let mut day = Day::begin(&system, seed).await;
    for _ in 0..60 {
        day.step().await;
    }
    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(60)).await;
    day.check_analytics(&system, &analytics.endpoint, Duration::from_secs(60))
        .await;

    // The database is lost: analytics stops, its database is dropped, and it starts again on an
    // empty one. It asks the producers for their state by itself, and the day goes on meanwhile.
    analytics.kill().await;
    drop(analytics.database.take());
    let fresh = TestDatabase::create().await.unwrap();
    analytics.set_env("DATABASE_URL", Some(fresh.url()));
    analytics.restart().await;
    for _ in 0..40 {
        day.step().await;
    }
    day.settle_and_check(&system, Duration::from_secs(60)).await;
    day.check_analytics(&system, &analytics.endpoint, Duration::from_secs(60))
        .await;
    system.assert_no_dead_letters(seed).await;
    analytics.kill().await;
    drop(fresh);
}
