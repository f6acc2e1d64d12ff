#!/usr/bin/env bash
# `make bench`: the whole system under a business day's load, in release mode, next to bare
# PostgreSQL and RabbitMQ loops measured in the same run; one table of figures and ratios.
# `make bench-parts`: each service's own benchmarks (in-process, each next to its baseline).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
use_infrastructure
if [[ ${1:-system} == system ]]; then
  # pgbench, for the PostgreSQL ceiling, comes with Debian's PostgreSQL server package.
  compgen -G '/usr/lib/postgresql/*/bin/pgbench' >/dev/null || command -v pgbench >/dev/null ||
    ensure_packages postgresql
  # One release build of every binary, the one `make up PROFILE=release` uses: the six services
  # and the load generator.
  say "building the release binaries"
  cargo build --release --bins
  say "the full system: six services as processes, a business day's load, the ceilings"
  target/release/ates-bench
  exit 0
fi

# One release build of every benchmark, with the workspace's features unified, then each run from
# it: `cargo bench -p <crate>` would resolve features per crate and rebuild most of the tree for
# each benchmark.
say "building every benchmark once (release)"
cargo bench --workspace --benches --no-run
bench() { cargo bench --workspace --bench "$1"; }
say "events through outbox, relay, broker and inbox vs a bare lapin loop"
bench delivery
say "auth sign-ins vs the health check of the same server"
bench sign_in
say "tracker: task creations at a fixed offered load vs the health check; a 100,000-task reshuffle"
bench tracker
say "accounting: ledger events settled from task lifecycles vs the bare broker loop; latency at 1,000/s"
bench settlement
say "payouts: the close of a day with 10,000 accounts owed money; its e-mails to a local SMTP listener"
bench close
say "analytics: the dashboard's answers over 1,000,000 audit-log entries vs the health check; a wiped rebuild"
bench answers
say "bff: GetManagementDashboard through the BFF vs the same accounting calls made directly"
bench dashboard
