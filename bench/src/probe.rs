//! What the machine and the databases say: memory and CPU time of processes (from /proc),
//! commits per database (from `pg_stat_database`), and how far each consumer of the ledger got.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;

use crate::system::System;

/// Resident memory of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User plus system CPU time of `pid`, and of its children that exited and were waited for, in
/// ticks.
fn cpu_ticks(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold spaces; the fields after it are plain.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    let ticks = fields
        .get(11..15)?
        .iter()
        .map(|field| field.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some((name, ticks))
}

/// CPU seconds used so far, per group: each service process by name, PostgreSQL (every
/// `postgres` process, its exited backends included through the postmaster), RabbitMQ
/// (`beam.smp`), and this load generator.
#[derive(Debug, Clone, Default)]
pub struct CpuSample(pub BTreeMap<String, f64>);

impl CpuSample {
    pub fn take(system: &System) -> Self {
        let per_second = ticks_per_second();
        let mut groups = BTreeMap::new();
        for service in &system.services {
            if let Some((_, ticks)) = cpu_ticks(service.pid) {
                groups.insert(service.name.to_owned(), ticks as f64 / per_second);
            }
        }
        let mut postgres = 0;
        let mut rabbitmq = 0;
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|name| name.parse().ok())
                else {
                    continue;
                };
                match cpu_ticks(pid) {
                    Some((name, ticks)) if name == "postgres" => postgres += ticks,
                    Some((name, ticks)) if name == "beam.smp" => rabbitmq += ticks,
                    _ => {}
                }
            }
        }
        groups.insert("PostgreSQL".to_owned(), postgres as f64 / per_second);
        groups.insert("RabbitMQ".to_owned(), rabbitmq as f64 / per_second);
        if let Some((_, ticks)) = cpu_ticks(std::process::id()) {
            groups.insert("load generator".to_owned(), ticks as f64 / per_second);
        }
        Self(groups)
    }

    /// CPU seconds per group between `self` and `later`.
    pub fn until(&self, later: &Self) -> BTreeMap<String, f64> {
        later
            .0
            .iter()
            .map(|(group, seconds)| {
                let before = self.0.get(group).copied().unwrap_or(0.0);
                (group.clone(), (seconds - before).max(0.0))
            })
            .collect()
    }
}

/// Transactions committed so far, per service database.
#[derive(Debug, Clone, Default)]
pub struct Commits(pub BTreeMap<String, i64>);

impl Commits {
    /// PostgreSQL publishes a backend's counters at most once a second while it is busy, and
    /// within 10 s of it going idle: a sample taken right after work is short of it. Callers that
    /// need an exact count wait [`Commits::SETTLE`] first.
    pub const SETTLE: Duration = Duration::from_secs(11);

    pub async fn take(system: &System) -> anyhow::Result<Self> {
        let admin = crate::system::connect(&system.admin_url).await?;
        let names = system.database_names();
        let mut commits = BTreeMap::new();
        for service in &system.services {
            let Some(database) = &service.database else {
                continue;
            };
            let row = admin
                .query_one(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
                    &[&database.name()],
                )
                .await?;
            commits.insert(service.name.to_owned(), row.get::<_, i64>(0));
        }
        anyhow::ensure!(commits.len() == names.len(), "a database has no statistics");
        Ok(Self(commits))
    }

    pub fn until(&self, later: &Self) -> BTreeMap<String, i64> {
        later
            .0
            .iter()
            .map(|(name, count)| (name.clone(), count - self.0.get(name).copied().unwrap_or(0)))
            .collect()
    }
}

/// How many fee and reward entries each consumer of the ledger has applied: accounting's ledger,
/// payouts' daily earnings and analytics' audit log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    pub accounting: i64,
    pub payouts: i64,
    pub analytics: i64,
}

/// The one number a counting query answers.
async fn count(client: &tokio_postgres::Client, sql: &str) -> anyhow::Result<i64> {
    Ok(client.query_one(sql, &[]).await?.get(0))
}

/// Connections to the three consumers' databases, to count what they settled.
#[derive(Debug)]
pub struct Ledgers {
    accounting: tokio_postgres::Client,
    payouts: tokio_postgres::Client,
    analytics: tokio_postgres::Client,
}

impl Ledgers {
    pub async fn open(system: &System) -> anyhow::Result<Self> {
        Ok(Self {
            accounting: system.database("accounting-svc").await?,
            payouts: system.database("payouts-svc").await?,
            analytics: system.database("analytics-svc").await?,
        })
    }

    pub async fn settled(&self) -> anyhow::Result<Settled> {
        Ok(Settled {
            accounting: count(
                &self.accounting,
                "SELECT count(*) FROM ledger_entries WHERE book = 'employee' AND kind <> 'payout'",
            )
            .await?,
            // Each account's revision for a date is the count of its fees and rewards that date.
            payouts: count(
                &self.payouts,
                "SELECT coalesce(sum(revision), 0)::bigint FROM daily_earnings",
            )
            .await?,
            analytics: count(
                &self.analytics,
                "SELECT count(*) FROM entries WHERE kind <> 'payout'",
            )
            .await?,
        })
    }

    /// Waits until every consumer has applied `wanted` ledger events; returns how long each took
    /// (accounting, payouts, analytics), or fails after `timeout`, naming the ones behind.
    pub async fn wait_for(&self, wanted: i64, timeout: Duration) -> anyhow::Result<[Duration; 3]> {
        let started = tokio::time::Instant::now();
        let mut done: [Option<Duration>; 3] = [None; 3];
        loop {
            let settled = self.settled().await?;
            for (slot, count) in
                done.iter_mut()
                    .zip([settled.accounting, settled.payouts, settled.analytics])
            {
                if slot.is_none() && count >= wanted {
                    *slot = Some(started.elapsed());
                }
            }
            if let [Some(accounting), Some(payouts), Some(analytics)] = done {
                return Ok([accounting, payouts, analytics]);
            }
            if started.elapsed() >= timeout {
                anyhow::bail!(
                    "not settled after {} s: {wanted} ledger events wanted, {settled:?} applied",
                    timeout.as_secs()
                );
            }
            // Each look is three transactions on the services' databases: not too often.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Tracker-commit-to-accounting-insert latency, p50 and p99 in ms, of the employee entries
    /// that happened at or after `since_epoch` (seconds), and their count.
    pub async fn latency_since(&self, since_epoch: f64) -> anyhow::Result<(f64, f64, i64)> {
        let row = self
            .accounting
            .query_one(
                "SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 0), \
                        coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), 0), count(*) \
                 FROM (SELECT extract(epoch FROM recorded_at - occurred_at)::float8 * 1000 AS ms \
                       FROM ledger_entries WHERE book = 'employee' AND kind <> 'payout' \
                       AND occurred_at >= to_timestamp($1)) AS latencies",
                &[&since_epoch],
            )
            .await?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }
}
