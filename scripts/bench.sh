#!/usr/bin/env bash
# `make bench`: benchmarks against real PostgreSQL and RabbitMQ, in release mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
use_infrastructure
say "events through outbox, relay, broker and inbox vs a bare lapin loop"
cargo bench -p ates-messaging --bench delivery
say "auth sign-ins vs the health check of the same server"
cargo bench -p auth-svc --bench sign_in
say "tracker: task creations at a fixed offered load vs the health check; a 100,000-task reshuffle"
cargo bench -p tracker-svc --bench tracker
say "accounting: ledger events settled from task lifecycles vs the bare broker loop; latency at 1,000/s"
cargo bench -p accounting-svc --bench settlement
say "payouts: the close of a day with 10,000 accounts owed money; its e-mails to a local SMTP listener"
cargo bench -p payouts-svc --bench close
say "analytics: the dashboard's answers over 1,000,000 audit-log entries vs the health check; a wiped rebuild"
cargo bench -p analytics-svc --bench answers
say "bff: GetManagementDashboard through the BFF vs the same accounting calls made directly"
cargo bench -p bff-svc --bench dashboard
