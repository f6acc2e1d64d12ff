#!/usr/bin/env bash
# `make soak`: the long chaos soak (system-tests/tests/soak.rs) for SOAK_MINUTES (default 10).
# It starts its own PostgreSQL server and RabbitMQ node (killed and restarted during the run) and
# a mail listener, so it needs the server packages and the built service binaries, not a running
# infrastructure. Prints a table at the end; exits non-zero on any difference.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
ensure_server_packages
cargo build --bins
say "soaking for ${SOAK_MINUTES:-10} minutes"
cargo nextest run --profile soak -p ates-system-tests --test soak --run-ignored only \
  --no-capture -E 'test(the_chaos_soak)'
