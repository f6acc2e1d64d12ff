//! `ates-bench`: the whole aTES system under load, as in production: the six release binaries as
//! processes on the real PostgreSQL and RabbitMQ, driven only through their gRPC APIs, next to
//! ceilings measured in the same run on the same servers (a bare PostgreSQL ledger-transaction
//! loop with pgbench, a bare RabbitMQ publish-confirm/consume-ack loop). It prints one table of
//! figures and ratios; absolute rates on a shared machine swing, the ratios hold.
//!
//! `make bench` runs it after one release build (`cargo build --release --bins`, the build `make
//! up PROFILE=release` uses). Settings, all optional: `BENCH_CLIENTS` (concurrent clients, 32),
//! `BENCH_SECONDS` (length of the business-day load, 20), `BENCH_WORKERS` (20), `BENCH_RATE`
//! (ledger events per second offered for the latency figure, 1,000), `BENCH_RESHUFFLE_TASKS`
//! (open tasks reshuffled at once, 100,000), `BENCH_RESHUFFLE_EVERY` (seconds between the
//! manager's reshuffles during the day's load, 10), `BENCH_LOGS` (where the services' logs go,
//! `.local/logs/bench`). The servers: `ATES_DATABASE_ADMIN_URL` and `ATES_AMQP_URL`, as `make up`
//! finds or starts them.

#![allow(clippy::print_stdout)]

mod ceilings;
mod load;
mod probe;
mod system;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use load::{Operation, Population, Stats, percentile};
use probe::{Commits, CpuSample, Ledgers};
use system::System;

#[derive(Debug, Clone)]
struct Settings {
    clients: usize,
    seconds: u64,
    workers: usize,
    rate: u32,
    reshuffle_tasks: i64,
    reshuffle_every: u64,
    logs: std::path::PathBuf,
    admin_url: String,
    amqp_url: String,
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: not a number: {value:?}")),
        Err(_) => Ok(default),
    }
}

fn url(names: &[&str], default: &str) -> String {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .unwrap_or_else(|| default.to_owned())
}

impl Settings {
    fn from_env() -> anyhow::Result<Self> {
        let settings = Self {
            clients: setting("BENCH_CLIENTS", 32)?,
            seconds: setting("BENCH_SECONDS", 20)?,
            workers: setting("BENCH_WORKERS", 20)?,
            rate: setting("BENCH_RATE", 1_000)?,
            reshuffle_tasks: setting("BENCH_RESHUFFLE_TASKS", 100_000)?,
            reshuffle_every: setting("BENCH_RESHUFFLE_EVERY", 10)?,
            logs: std::env::var_os("BENCH_LOGS")
                .map_or_else(|| ".local/logs/bench".into(), Into::into),
            admin_url: url(
                &["ATES_DATABASE_ADMIN_URL", "ATES_TEST_DATABASE_URL"],
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            amqp_url: url(
                &["ATES_AMQP_URL", "ATES_TEST_AMQP_URL"],
                "amqp://guest:guest@127.0.0.1:5672/%2f",
            ),
        };
        anyhow::ensure!(settings.clients > 0, "BENCH_CLIENTS: at least 1");
        anyhow::ensure!(settings.workers > 0, "BENCH_WORKERS: at least 1");
        anyhow::ensure!(settings.rate >= 2, "BENCH_RATE: at least 2");
        anyhow::ensure!(settings.seconds > 0, "BENCH_SECONDS: at least 1");
        Ok(settings)
    }
}

fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(settings))
}

fn say(text: &str) {
    eprintln!("==> {text}");
}

/// Runs `concurrency` clients, each calling `operation` back to back for `duration`; returns the
/// calls answered per second and their statistics.
async fn saturate(
    population: &Arc<Population>,
    operation: Operation,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<(f64, Stats)> {
    let mut clients = Vec::with_capacity(concurrency);
    for index in 0..concurrency {
        clients.push(population.client(index as u64).await?);
    }
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for mut client in clients {
        running.spawn(async move {
            while started.elapsed() < duration {
                client.call(operation).await;
            }
            client.stats
        });
    }
    let mut stats = Stats::default();
    while let Some(done) = running.join_next().await {
        stats.merge(done?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((stats.calls() as f64 / elapsed, stats))
}

/// What [`offer`] offers.
#[derive(Debug, Clone, Copy)]
enum Offered {
    /// One call.
    Call(Operation),
    /// A task created and then completed by its assignee.
    Lifecycle,
}

/// Offers `rate` of `offered` per second for `duration`, open loop (each of 64 clients on its
/// own schedule, catching up when a call ran long); what was achieved is in the statistics.
async fn offer(
    population: &Arc<Population>,
    rate: f64,
    duration: Duration,
    offered: Offered,
) -> anyhow::Result<Stats> {
    const CLIENTS: usize = 64;
    anyhow::ensure!(
        rate.is_finite() && rate > 0.0,
        "nothing to offer: a rate of {rate}/s"
    );
    let period = Duration::from_secs_f64(CLIENTS as f64 / rate);
    let mut clients = Vec::with_capacity(CLIENTS);
    for index in 0..CLIENTS {
        clients.push(population.client(1_000 + index as u64).await?);
    }
    let started = tokio::time::Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for (index, mut client) in clients.into_iter().enumerate() {
        running.spawn(async move {
            let first = started + period.mul_f64(index as f64 / CLIENTS as f64);
            let mut ticker = tokio::time::interval_at(first, period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                // Open loop on the wall clock: calls behind schedule are made at once, and the
                // offer ends on time whatever was left (the achieved rate is reported).
                ticker.tick().await;
                if started.elapsed() >= duration {
                    break;
                }
                match offered {
                    Offered::Call(operation) => client.call(operation).await,
                    Offered::Lifecycle => client.lifecycle().await?,
                }
            }
            Ok::<_, anyhow::Error>(client.stats)
        });
    }
    let mut stats = Stats::default();
    while let Some(done) = running.join_next().await {
        stats.merge(done??);
    }
    Ok(stats)
}

/// The business day's load: `clients` clients doing the mix for `seconds`, and the manager
/// reshuffling every `reshuffle_every` seconds.
async fn business_day(
    population: &Arc<Population>,
    settings: &Settings,
) -> anyhow::Result<(Stats, Vec<i64>)> {
    let duration = Duration::from_secs(settings.seconds);
    let mut clients = Vec::with_capacity(settings.clients);
    for index in 0..settings.clients {
        clients.push(population.client(10_000 + index as u64).await?);
    }
    let mut reshuffler = population.client(99_999).await?;
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for mut client in clients {
        running.spawn(async move {
            while started.elapsed() < duration {
                client.step().await?;
            }
            Ok::<_, anyhow::Error>(client.stats)
        });
    }
    let every = Duration::from_secs(settings.reshuffle_every.max(1));
    let reshuffles = tokio::spawn(async move {
        let mut counts = Vec::new();
        let mut next = every;
        while next < duration {
            tokio::time::sleep_until(tokio::time::Instant::from_std(started + next)).await;
            if let Some(count) = reshuffler.reshuffle().await {
                counts.push(count);
            }
            next += every;
        }
        (counts, reshuffler.stats)
    });
    let mut stats = Stats::default();
    while let Some(done) = running.join_next().await {
        stats.merge(done??);
    }
    let (counts, reshuffle_stats) = reshuffles.await?;
    stats.merge(reshuffle_stats);
    Ok((stats, counts))
}

/// Creates `count` tasks with `concurrency` clients as fast as the tracker takes them.
async fn create_tasks(
    population: &Arc<Population>,
    count: i64,
    concurrency: usize,
) -> anyhow::Result<Stats> {
    let mut running = tokio::task::JoinSet::new();
    let concurrency = i64::try_from(concurrency)?.max(1);
    for index in 0..concurrency {
        let mut client = population.client(50_000 + index as u64).await?;
        let share = count / concurrency + i64::from(index < count % concurrency);
        running.spawn(async move {
            for _ in 0..share {
                client.call(Operation::CreateTask).await;
            }
            client.stats
        });
    }
    let mut stats = Stats::default();
    while let Some(done) = running.join_next().await {
        stats.merge(done?);
    }
    Ok(stats)
}

fn ensure_no_failures(phase: &str, stats: &Stats) -> anyhow::Result<()> {
    let failures = stats.real_failures();
    anyhow::ensure!(
        failures.is_empty(),
        "{phase}: calls failed: {}",
        failures.join(", ")
    );
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One figure of the table.
struct Row {
    figure: &'static str,
    measured: String,
    baseline: String,
    ratio: String,
    goal: &'static str,
    met: Option<bool>,
}

fn print_table(rows: &[Row]) {
    let widths = [
        rows.iter()
            .map(|row| row.figure.chars().count())
            .max()
            .unwrap_or(0),
        rows.iter()
            .map(|row| row.measured.chars().count())
            .max()
            .unwrap_or(0),
        rows.iter()
            .map(|row| row.baseline.chars().count())
            .max()
            .unwrap_or(0),
        rows.iter()
            .map(|row| row.ratio.chars().count())
            .max()
            .unwrap_or(0),
    ];
    let pad = |text: &str, width: usize| {
        format!(
            "{text}{}",
            " ".repeat(width.saturating_sub(text.chars().count()))
        )
    };
    println!(
        "{} | {} | {} | {} | goal",
        pad("figure", widths[0]),
        pad("measured", widths[1]),
        pad("baseline (same run)", widths[2]),
        pad("ratio", widths[3])
    );
    for row in rows {
        let verdict = match row.met {
            Some(true) => "  met",
            Some(false) => "  NOT MET",
            None => "",
        };
        println!(
            "{} | {} | {} | {} | {}{verdict}",
            pad(row.figure, widths[0]),
            pad(&row.measured, widths[1]),
            pad(&row.baseline, widths[2]),
            pad(&row.ratio, widths[3]),
            row.goal
        );
    }
}

async fn machine(admin_url: &str) -> anyhow::Result<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    let admin = system::connect(admin_url).await?;
    let show = async |name: &str| -> anyhow::Result<String> {
        Ok(admin.query_one(&format!("SHOW {name}"), &[]).await?.get(0))
    };
    let version = show("server_version").await?;
    let fsync = show("fsync").await?;
    let synchronous_commit = show("synchronous_commit").await?;
    Ok(format!(
        "{cores} cores ({cpu}), {memory:.0} GiB; PostgreSQL {version} (fsync {fsync}, \
         synchronous_commit {synchronous_commit}); RabbitMQ quorum queues, publisher confirms"
    ))
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let binaries = std::env::current_exe()?
        .parent()
        .context("the bench binary has no directory")?
        .to_path_buf();
    let machine = machine(&settings.admin_url).await?;
    say("starting the six services, one at a time");
    let system = System::start(
        &binaries,
        &settings.logs,
        &settings.admin_url,
        &settings.amqp_url,
    )
    .await?;
    let mut rows = Vec::new();

    // P6: start to SERVING, and memory at rest.
    say("letting the system rest: memory and commits at idle");
    let idle_commits_before = Commits::take(&system).await?;
    tokio::time::sleep(Commits::SETTLE).await;
    let idle_commits = idle_commits_before.until(&Commits::take(&system).await?);
    let idle_commits_per_second: BTreeMap<String, f64> = idle_commits
        .iter()
        .map(|(name, count)| (name.clone(), *count as f64 / Commits::SETTLE.as_secs_f64()))
        .collect();
    let mut p6 = Vec::new();
    for service in &system.services {
        let rss = probe::rss_kib(service.pid)?;
        p6.push((service.name, rss, service.started_in));
    }
    for (name, rss, started) in &p6 {
        rows.push(Row {
            figure: "P6 idle RSS · start to SERVING",
            measured: format!(
                "{name}: {:.1} MiB · {:.0} ms",
                mib(*rss),
                started.as_secs_f64() * 1000.0
            ),
            baseline: String::new(),
            ratio: String::new(),
            goal: "≤ 30 MiB · ≤ 1 s",
            met: Some(mib(*rss) <= 30.0 && *started <= Duration::from_secs(1)),
        });
    }

    let population = Population::create(&system, settings.workers).await?;
    let ledgers = Ledgers::open(&system).await?;

    say("ceilings: pgbench with a ledger event's transaction, the bare RabbitMQ loop");
    let pgbench_clients = 8;
    let postgres_ceiling = ceilings::postgres_ledger_loop(
        &settings.admin_url,
        pgbench_clients,
        Duration::from_secs(10),
    )
    .await?;
    let broker_ceiling = ceilings::broker_loop(&system.broker, 20_000, 256).await?;

    // P5: CreateTask and SignIn next to the health check of the same server.
    say("P5: saturation of CreateTask and SignIn next to a health check of the same server");
    let saturation = Duration::from_secs(3);
    let mut p5 = BTreeMap::new();
    for operation in [
        Operation::TrackerHealth,
        Operation::CreateTask,
        Operation::AuthHealth,
        Operation::SignIn,
    ] {
        let (rate, stats) = saturate(&population, operation, 16, saturation).await?;
        ensure_no_failures(operation.name(), &stats)?;
        p5.insert(operation.name(), rate);
    }
    for (operation, trivial) in [
        (Operation::CreateTask, Operation::TrackerHealth),
        (Operation::SignIn, Operation::AuthHealth),
    ] {
        let rate = p5[operation.name()];
        let half = rate / 2.0;
        let mut stats = offer(&population, half, saturation, Offered::Call(operation)).await?;
        ensure_no_failures(operation.name(), &stats)?;
        let achieved = stats.calls() as f64 / saturation.as_secs_f64();
        let latencies = stats.latencies.entry(operation.name()).or_default();
        let p99 = percentile(latencies, 99.0) / 1000.0;
        let ratio = rate / p5[trivial.name()];
        rows.push(Row {
            figure: if operation == Operation::CreateTask {
                "P5 CreateTask vs Health/Check (tracker)"
            } else {
                "P5 SignIn vs Health/Check (auth)"
            },
            measured: format!(
                "{rate:.0}/s; p99 {p99:.1} ms at {achieved:.0}/s of {half:.0}/s offered"
            ),
            baseline: format!("{:.0}/s", p5[trivial.name()]),
            ratio: format!("{ratio:.2}"),
            goal: "≥ 0.25; p99 ≤ 10 ms at half load",
            met: Some(ratio >= 0.25 && p99 <= 10.0),
        });
    }
    ledgers
        .wait_for(
            population.ledger_events.load(Ordering::Relaxed),
            Duration::from_secs(120),
        )
        .await?;

    // P1 and P7: the business day's mix as fast as it goes.
    say(&format!(
        "P1: the business day's mix, {} clients for {} s, then until every consumer settled",
        settings.clients, settings.seconds
    ));
    tokio::time::sleep(Commits::SETTLE).await;
    let commits_before = Commits::take(&system).await?;
    let cpu_before = CpuSample::take(&system);
    let events_before = population.ledger_events.load(Ordering::Relaxed);
    let window_started = Instant::now();
    let (day_stats, reshuffles) = business_day(&population, &settings).await?;
    ensure_no_failures("the business day", &day_stats)?;
    let driven = window_started.elapsed();
    let events_after = population.ledger_events.load(Ordering::Relaxed);
    let behind = ledgers
        .wait_for(events_after, Duration::from_secs(300))
        .await?;
    let settled_in = window_started.elapsed();
    let cpu = cpu_before.until(&CpuSample::take(&system));
    tokio::time::sleep(Commits::SETTLE).await;
    let window = window_started.elapsed().as_secs_f64();
    let commits = commits_before.until(&Commits::take(&system).await?);
    let ledger_events = events_after - events_before;
    let p1 = ledger_events as f64 / settled_in.as_secs_f64();
    let total_commits: i64 = commits.values().sum();
    let idle_share: f64 = idle_commits_per_second.values().sum::<f64>() * window;
    let load_commits = (total_commits as f64 - idle_share).max(1.0);
    rows.push(Row {
        figure: "P1 ledger events settled/s, all six",
        measured: format!(
            "{p1:.0}/s ({} of {ledger_events} were reassignment fees)",
            reshuffles.iter().sum::<i64>()
        ),
        baseline: format!("pgbench ledger tx {postgres_ceiling:.0}/s"),
        ratio: format!("{:.2}", p1 / postgres_ceiling),
        goal: "≥ 2,000/s and ≥ 0.5",
        met: Some(p1 >= 2_000.0 && p1 / postgres_ceiling >= 0.5),
    });
    rows.push(Row {
        figure: "P1 next to the bare broker loop",
        measured: format!("{p1:.0}/s"),
        baseline: format!("RabbitMQ {broker_ceiling:.0} msg/s"),
        ratio: format!("{:.2}", p1 / broker_ceiling),
        goal: "",
        met: None,
    });
    rows.push(Row {
        figure: "P7 ledger events per commit, all DBs",
        measured: format!(
            "{:.2} ({ledger_events} / {total_commits})",
            ledger_events as f64 / total_commits.max(1) as f64
        ),
        baseline: format!(
            "{:.2} without idle commits",
            ledger_events as f64 / load_commits
        ),
        ratio: String::new(),
        goal: "higher is better",
        met: None,
    });

    // P2: latency at a fixed offered load.
    say(&format!(
        "P2: tracker commit → accounting insert at {} ledger events/s offered",
        settings.rate
    ));
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    let lifecycles_per_second = f64::from(settings.rate) / 2.0;
    let p2_stats = offer(
        &population,
        lifecycles_per_second,
        Duration::from_secs(5),
        Offered::Lifecycle,
    )
    .await?;
    ensure_no_failures("P2", &p2_stats)?;
    let p2_achieved = p2_stats.latencies.get("CompleteTask").map_or(0, Vec::len) as f64 * 2.0 / 5.0;
    ledgers
        .wait_for(
            population.ledger_events.load(Ordering::Relaxed),
            Duration::from_secs(120),
        )
        .await?;
    let (p50, p99, entries) = ledgers.latency_since(since).await?;
    rows.push(Row {
        figure: "P2 tracker → accounting latency",
        measured: format!(
            "p50 {p50:.1} ms, p99 {p99:.1} ms ({entries} entries; {p2_achieved:.0} of {} ledger events/s achieved)",
            settings.rate
        ),
        baseline: String::new(),
        ratio: String::new(),
        goal: "p50 ≤ 10 ms, p99 ≤ 25 ms",
        met: Some(p50 <= 10.0 && p99 <= 25.0),
    });

    // P3: a reshuffle of many open tasks.
    let consumers_settled = behind.map(|after_driving| driven + after_driving);
    let tracker_db = system.database("tracker-svc").await?;
    let open: i64 = tracker_db
        .query_one("SELECT count(*) FROM tasks WHERE status = 'open'", &[])
        .await?
        .get(0);
    let missing = (settings.reshuffle_tasks - open).max(0);
    say(&format!(
        "P3: {missing} more open tasks ({open} open), then one reshuffle of them all"
    ));
    let stats = create_tasks(&population, missing, settings.clients).await?;
    ensure_no_failures("creating open tasks", &stats)?;
    ledgers
        .wait_for(
            population.ledger_events.load(Ordering::Relaxed),
            Duration::from_secs(600),
        )
        .await?;
    let mut manager = population.client(77_777).await?;
    let reshuffle_started = Instant::now();
    let reassigned = manager
        .reshuffle()
        .await
        .context("the big reshuffle failed")?;
    let tracker_took = reshuffle_started.elapsed();
    let wanted = population.ledger_events.load(Ordering::Relaxed);
    let [accounting_after, payouts_after, analytics_after] =
        ledgers.wait_for(wanted, Duration::from_secs(600)).await?;
    let accounting_took = tracker_took + accounting_after;
    let all_took = tracker_took + accounting_after.max(payouts_after).max(analytics_after);
    rows.push(Row {
        figure: "P3 reshuffle of open tasks",
        measured: format!(
            "{reassigned} tasks: tracker {:.2} s, accounting {:.1} s, all {:.1} s",
            tracker_took.as_secs_f64(),
            accounting_took.as_secs_f64(),
            all_took.as_secs_f64()
        ),
        baseline: String::new(),
        ratio: String::new(),
        goal: "tracker ≤ 2 s; accounting ≤ 30 s",
        met: Some(
            tracker_took <= Duration::from_secs(2) && accounting_took <= Duration::from_secs(30),
        ),
    });

    // The report.
    println!();
    println!("aTES full-system benchmark · {machine}");
    println!(
        "business day: {} clients, {} workers, {} s of load ({:.1} s driven), {} calls, reshuffles of {:?} tasks",
        settings.clients,
        settings.workers,
        settings.seconds,
        driven.as_secs_f64(),
        day_stats.calls(),
        reshuffles
    );
    println!();
    print_table(&rows);
    println!();
    println!("Where the time went during P1 (CPU seconds per 1,000 ledger events; share of all):");
    let cpu_total: f64 = cpu.values().sum();
    let mut by_cpu: Vec<(&String, &f64)> = cpu.iter().collect();
    by_cpu.sort_by(|a, b| b.1.total_cmp(a.1));
    for (group, seconds) in by_cpu {
        println!(
            "  {group:<16} {:>7.3} s   {:>5.1} %",
            seconds * 1000.0 / ledger_events.max(1) as f64,
            100.0 * seconds / cpu_total.max(f64::EPSILON)
        );
    }
    println!(
        "  (machine: {:.0} % of {} cores busy over {:.1} s)",
        100.0 * cpu_total
            / settled_in.as_secs_f64()
            / std::thread::available_parallelism().map_or(1.0, |n| usize::from(n) as f64),
        std::thread::available_parallelism().map_or(0, usize::from),
        settled_in.as_secs_f64()
    );
    println!(
        "Each consumer of the ledger had settled P1's events {:.1} s (accounting), {:.1} s (payouts), \
         {:.1} s (analytics) after the load began; driving took {:.1} s.",
        consumers_settled[0].as_secs_f64(),
        consumers_settled[1].as_secs_f64(),
        consumers_settled[2].as_secs_f64(),
        driven.as_secs_f64()
    );
    println!("Commits per ledger event during P1, by database (idle commits/s in brackets):");
    for (name, count) in &commits {
        println!(
            "  {name:<16} {:>6.2}   ({:.1}/s at idle)",
            *count as f64 / ledger_events.max(1) as f64,
            idle_commits_per_second.get(name).copied().unwrap_or(0.0)
        );
    }
    println!("Latency of the business day's calls (ms, p50 / p99):");
    let mut day_stats = day_stats;
    for (operation, latencies) in &mut day_stats.latencies {
        let count = latencies.len();
        let p50 = percentile(latencies, 50.0) / 1000.0;
        let p99 = percentile(latencies, 99.0) / 1000.0;
        println!("  {operation:<24} {p50:>7.1} / {p99:>7.1}   ({count} calls)");
    }
    if !day_stats.failures.is_empty() {
        println!("Refused as the rules say (completions of tasks a reshuffle moved away):");
        for ((operation, code), count) in &day_stats.failures {
            println!("  {operation}: {count} × {:?}", tonic::Code::from(*code));
        }
    }
    Ok(())
}
