#!/usr/bin/env bash
# `make down`: stop what `make up` started, and only that.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"
# `make up` itself first: it stops its services, the mail catcher and the infrastructure it
# started, in order, and stops supervising (it would otherwise start a stopped service again).
# It may take a while (each service gets its shutdown grace): wait until it is gone.
if [[ -f $ATES_LOCAL/pids/up.pid ]]; then
  up=$(cat "$ATES_LOCAL/pids/up.pid")
  if up_is_running "$up"; then
    say "stopping make up (pid $up)"
    kill -TERM "$up"
    while kill -0 "$up" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$ATES_LOCAL/pids/up.pid"
fi
# Whatever is left (make up was killed, say).
for file in "$ATES_LOCAL"/pids/svc-*.pid; do
  [[ -e $file ]] || continue
  say "stopping $(basename "$file" .pid | sed 's/^svc-//')-svc"
  stop_pidfile "$file"
done
stop_pidfile "$ATES_LOCAL/pids/maildev.pid"
bash scripts/infra.sh stop
