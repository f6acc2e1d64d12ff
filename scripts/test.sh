#!/usr/bin/env bash
# `make test`: every test of the workspace against real PostgreSQL and RabbitMQ. Uses the servers
# that answer, or starts project-local ones (and stops those again at the end).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
use_infrastructure
# The system tests start the real service binaries and call one with buf curl.
cargo build --bins
make --no-print-directory tools
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  warn "cargo-nextest is not installed; running cargo test"
  cargo test --workspace --no-fail-fast "$@"
fi
