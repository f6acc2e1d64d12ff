//! A whole business day through the real binaries, checked against a ledger the test keeps from
//! nothing but what the APIs returned.

#![allow(clippy::unwrap_used)]

mod system;

use std::time::Duration;

use system::System;
use system::day::{self, Day};

#[tokio::test(flavor = "multi_thread")]
async fn a_business_day_ends_with_accounting_equal_to_an_independent_ledger() {
    let seed = day::seed(20_261_125);
    let system = System::start().await;
    let mut day = Day::begin(&system, seed).await;
    for _ in 0..120 {
        day.step().await;
    }
    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(60)).await;
}
