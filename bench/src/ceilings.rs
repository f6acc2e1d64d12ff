//! The ceilings the system is measured against, in the same run on the same servers: PostgreSQL
//! alone doing a ledger event's transaction, and RabbitMQ alone moving messages durably.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use ates_testkit::{TestBroker, TestDatabase};

/// The tables one ledger event touches in accounting: its inbox, the posting, the two legs (the
/// employee's balance kept by the insert), and the outbox rows it publishes.
const SCHEMA: &str = "
CREATE TABLE inbox_events (event_id uuid PRIMARY KEY, event_type text NOT NULL, queue text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE postings (id uuid PRIMARY KEY, business_key text NOT NULL UNIQUE, kind text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE ledger_entries (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id uuid NOT NULL UNIQUE, posting_id uuid NOT NULL REFERENCES postings (id),
    book text NOT NULL, account_id uuid, amount_cents bigint NOT NULL, business_date date NOT NULL,
    occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX ledger_entries_by_account ON ledger_entries (account_id, business_date, id)
    WHERE book = 'employee';
CREATE TABLE balances (account_id uuid PRIMARY KEY, balance_cents bigint NOT NULL,
    entry_count bigint NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE outbox_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE, event_type text NOT NULL, exchange text NOT NULL,
    routing_key text NOT NULL, envelope bytea NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE accounts (id int PRIMARY KEY, account_id uuid NOT NULL);
INSERT INTO accounts SELECT n, gen_random_uuid() FROM generate_series(1, 100) AS n;
";

/// One ledger event, shaped like accounting's transaction for it (one transaction, durably
/// committed), without accounting's triggers: the balance is one plain upsert and there are no
/// per-date totals, so the ceiling is a little higher than accounting's own work could reach.
const TRANSACTION: &str = r"\set n random(1, 100)
BEGIN;
INSERT INTO inbox_events (event_id, event_type, queue) VALUES (gen_random_uuid(), 'ates.tracker.events.v1.TaskAdded', 'accounting');
WITH posting AS (INSERT INTO postings (id, business_key, kind)
        VALUES (gen_random_uuid(), 'fee:' || gen_random_uuid(), 'assignment_fee') RETURNING id),
     account AS (SELECT account_id FROM accounts WHERE id = :n)
INSERT INTO ledger_entries (public_id, posting_id, book, account_id, amount_cents, business_date, occurred_at)
    SELECT gen_random_uuid(), posting.id, 'employee', account.account_id, -1500, current_date, now() FROM posting, account
    UNION ALL SELECT gen_random_uuid(), posting.id, 'company_fee_income', NULL, 1500, current_date, now() FROM posting;
INSERT INTO balances (account_id, balance_cents, entry_count, updated_at)
    SELECT account_id, -1500, 1, now() FROM accounts WHERE id = :n
    ON CONFLICT (account_id) DO UPDATE SET balance_cents = balances.balance_cents + EXCLUDED.balance_cents,
        entry_count = balances.entry_count + 1, updated_at = EXCLUDED.updated_at;
INSERT INTO outbox_events (event_id, event_type, exchange, routing_key, envelope)
    VALUES (gen_random_uuid(), 'ates.accounting.events.v1.BillUpdated', 'accounting', 'bill', repeat('x', 160)::bytea),
           (gen_random_uuid(), 'ates.accounting.events.v1.AuditLogEntryCreated', 'accounting', 'audit', repeat('x', 200)::bytea);
COMMIT;
";

/// Where pgbench is: beside the PostgreSQL server programs Debian installs (the newest), or on
/// the PATH.
fn pgbench() -> anyhow::Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pgbench"))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found
        .pop()
        .or_else(|| {
            std::env::var_os("PATH")
                .into_iter()
                .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                .map(|dir| dir.join("pgbench"))
                .find(|path| path.exists())
        })
        .context("pgbench not found (Debian's postgresql package has it)")
}

/// Ledger-event transactions per second that `clients` connections of pgbench commit in
/// `duration` on the server of `admin_url`, in a scratch database of their own.
pub async fn postgres_ledger_loop(
    admin_url: &str,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let database = TestDatabase::create_at(admin_url).await?;
    crate::system::connect(database.url())
        .await?
        .batch_execute(SCHEMA)
        .await
        .context("creating the ledger schema")?;
    let script = std::env::temp_dir().join(format!("ates-bench-{}.sql", std::process::id()));
    std::fs::write(&script, TRANSACTION)?;
    let output = tokio::process::Command::new(pgbench()?)
        .arg("--no-vacuum")
        .arg(format!("--client={clients}"))
        .arg("--jobs=2")
        .arg(format!("--time={}", duration.as_secs().max(1)))
        .arg(format!("--file={}", script.display()))
        .arg(database.url())
        .output()
        .await
        .context("running pgbench")?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| format!("no 'tps = ' line in pgbench's output:\n{stdout}"))
}

/// Messages per second through a durable quorum queue of `broker`, published with confirms and
/// consumed with acks: `messages` bodies of `size` bytes.
pub async fn broker_loop(broker: &TestBroker, messages: usize, size: usize) -> anyhow::Result<f64> {
    let bodies = vec![vec![7_u8; size]; messages];
    let elapsed = ates_testkit::bare_broker_loop(broker, &bodies).await?;
    Ok(messages as f64 / elapsed.as_secs_f64())
}
