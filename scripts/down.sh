#!/usr/bin/env bash
# `make down`: stop what `make up` started, and only that.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
for file in "$ATES_LOCAL"/pids/svc-*.pid; do
  [[ -e $file ]] || continue
  say "stopping $(basename "$file" .pid | sed 's/^svc-//')-svc"
  stop_pidfile "$file"
done
stop_pidfile "$ATES_LOCAL/pids/maildev.pid"
bash scripts/infra.sh stop
