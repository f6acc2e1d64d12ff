#!/usr/bin/env bash
# `make bench`: benchmarks against real PostgreSQL and RabbitMQ, in release mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
infra_before=$(ls "$ATES_LOCAL/pids")
bash scripts/infra.sh ensure
source "$ATES_LOCAL/infra.env"
trap '[[ $infra_before != "$(ls "$ATES_LOCAL/pids")" ]] && bash scripts/infra.sh stop' EXIT
export ATES_TEST_DATABASE_URL="$ATES_DATABASE_ADMIN_URL" ATES_TEST_AMQP_URL="$ATES_AMQP_URL"
cargo bench -p ates-messaging --bench delivery
