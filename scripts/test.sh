#!/usr/bin/env bash
# `make test`: every test of the workspace against real PostgreSQL and RabbitMQ. Uses the
# PostgreSQL that answers, or starts a project-local one, and a RabbitMQ started fresh for this run
# (see start_test_broker in infra.sh); stops at the end what it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
use_infrastructure
if bash scripts/infra.sh test-broker; then
  set -a
  source "$ATES_LOCAL/test-broker.env"
  set +a
  trap 'bash scripts/infra.sh stop-test-broker; stop_infrastructure_we_started' EXIT
else
  warn "could not start a fresh RabbitMQ for the tests; they use $ATES_TEST_AMQP_URL"
fi
# The system tests start the real service binaries and call one with buf curl; the web test
# drives the built app in Debian's Chromium; the soak kills and restarts a PostgreSQL server and a
# RabbitMQ node of its own.
ensure_server_packages
cargo build --bins
make --no-print-directory tools
# Debian's Chromium for the browser test (CHROMIUM names another); without it only that test fails,
# saying so.
if [[ -z ${CHROMIUM:-} ]]; then
  (ensure_packages chromium) || warn "no Chromium: the browser test (system-tests/tests/web.rs) will fail"
fi
bash scripts/web.sh
say "the web app's unit tests"
npm test --prefix web --silent
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  warn "cargo-nextest is not installed; running cargo test"
  cargo test --workspace --no-fail-fast "$@"
fi
