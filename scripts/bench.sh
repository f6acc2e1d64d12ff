#!/usr/bin/env bash
# `make bench`: benchmarks against real PostgreSQL and RabbitMQ, in release mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
use_infrastructure
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
