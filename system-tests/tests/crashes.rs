//! The business day while accounting, then the tracker, are SIGKILLed at random moments and
//! restarted, and then the broker (a private node on unusual ports) is killed and started again:
//! afterwards the money still equals the test's independent ledger, no event was lost (or parked)
//! and none was applied twice.

#![allow(clippy::unwrap_used)]

mod system;

use std::sync::Arc;
use std::time::Duration;

use ates_testkit::{PrivateBroker, TestBroker};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use system::day::{self, Day};
use system::{Process, System};

/// Fewest steps the day takes while each kind of failure is going on.
const STEPS_PER_PHASE: usize = 30;

/// Runs day steps until the disruption `chaos` has finished (and at least STEPS_PER_PHASE).
async fn steps_during<T>(day: &mut Day, chaos: tokio::task::JoinHandle<T>) -> T {
    let mut steps = 0;
    while !chaos.is_finished() || steps < STEPS_PER_PHASE {
        day.step().await;
        steps += 1;
    }
    chaos.await.unwrap()
}

/// `(delay before the kill, time spent dead)` for `kills` kills, in milliseconds.
fn kill_plan(rng: &mut StdRng, kills: usize) -> Vec<(u64, u64)> {
    (0..kills)
        .map(|_| (rng.random_range(20..700), rng.random_range(0..400)))
        .collect()
}

async fn kill_and_restart(process: &Process, plan: Vec<(u64, u64)>) {
    for (before, dead) in plan {
        tokio::time::sleep(Duration::from_millis(before)).await;
        process.kill().await;
        tokio::time::sleep(Duration::from_millis(dead)).await;
        process.restart().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_of_crashes_and_a_broker_outage_ends_with_the_money_equal_to_the_independent_ledger()
{
    let seed = day::seed(20_261_126);
    let mut chaos_rng = StdRng::seed_from_u64(seed.rotate_left(17));
    let mut broker = PrivateBroker::start().await.unwrap();
    let system = Arc::new(System::start_on(TestBroker::at(broker.url()), &[]).await);
    let mut day = Day::begin(&system, seed).await;

    // Accounting dies mid-consumption: between inbox commit and ack, inside a batch, anywhere.
    let plan = kill_plan(&mut chaos_rng, 3);
    eprintln!("seed {seed}: accounting kills {plan:?}");
    let chaos = tokio::spawn({
        let system = system.clone();
        async move { kill_and_restart(&system.accounting, plan).await }
    });
    steps_during(&mut day, chaos).await;

    // The tracker dies mid-call and mid-relay: the day's calls are retried with their request
    // ids, and the outbox rows committed before the kill are published after the restart.
    let plan = kill_plan(&mut chaos_rng, 3);
    eprintln!("seed {seed}: tracker kills {plan:?}");
    let chaos = tokio::spawn({
        let system = system.clone();
        async move { kill_and_restart(&system.tracker, plan).await }
    });
    let retried_before = day::retried_calls();
    steps_during(&mut day, chaos).await;
    let retried = day::retried_calls() - retried_before;
    eprintln!("seed {seed}: {retried} tracker calls met a dead tracker and were retried");
    assert!(
        retried > 0,
        "seed {seed}: the tracker was never down while the day called it"
    );

    // The broker dies (SIGKILL) twice while events flow; every service reconnects by itself.
    let plan = kill_plan(&mut chaos_rng, 2);
    eprintln!("seed {seed}: broker kills {plan:?}");
    let chaos = tokio::spawn(async move {
        for (before, dead) in plan {
            tokio::time::sleep(Duration::from_millis(before)).await;
            broker.stop().await;
            tokio::time::sleep(Duration::from_millis(dead)).await;
            broker.restart().await.unwrap();
        }
        broker
    });
    let _broker = steps_during(&mut day, chaos).await;

    day.summarise();
    day.settle_and_check(&system, Duration::from_secs(120))
        .await;

    // Nothing was set aside either: every dead-letter queue of the consumers is empty.
    system.assert_no_dead_letters(seed).await;
}
