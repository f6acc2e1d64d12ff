#!/usr/bin/env bash
# `make bench`: benchmarks against real PostgreSQL and RabbitMQ, in release mode.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
use_infrastructure
cargo bench -p ates-messaging --bench delivery
