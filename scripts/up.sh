#!/usr/bin/env bash
# `make up`: the whole aTES system on this machine. Ctrl-C (or `make down` from another terminal)
# stops everything this script started, and only that. While it runs it supervises the services:
# one that dies is reported with its last log lines and started again after a back-off (1, 2, 4,
# 8 s); at the 5th failure in a row (a run of 60 s or more clears the count) it is given up,
# and the others keep running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ATES_ROOT"

SERVICES=(auth:50051 tracker:50052 accounting:50053 payouts:50054 bff:50055 analytics:50056)
PROFILE=${PROFILE:-debug}
# The local mail catcher: payouts e-mails go to its SMTP port, its web page shows them.
MAIL_SMTP_PORT=${ATES_MAIL_SMTP_PORT:-1025}
MAIL_WEB_PORT=${ATES_MAIL_WEB_PORT:-1080}

if [[ -f $ATES_LOCAL/pids/up.pid ]] && up_is_running "$(cat "$ATES_LOCAL/pids/up.pid")"; then
  die "aTES is already running (make up, pid $(cat "$ATES_LOCAL/pids/up.pid")); stop it with: make down"
fi
if compgen -G "$ATES_LOCAL/pids/svc-*.pid" >/dev/null; then
  for file in "$ATES_LOCAL"/pids/svc-*.pid; do
    kill -0 "$(cat "$file")" 2>/dev/null && die "aTES is already running (see .local/pids); stop it with: make down"
    rm -f "$file"
  done
fi

use_infrastructure
echo $$ >"$ATES_LOCAL/pids/up.pid"

stop_all() {
  trap - INT TERM EXIT
  say "stopping aTES"
  for file in "$ATES_LOCAL"/pids/svc-*.pid; do
    [[ -e $file ]] && stop_pidfile "$file"
  done
  stop_pidfile "$ATES_LOCAL/pids/maildev.pid"
  rm -f "$ATES_LOCAL/pids/up.pid"
  stop_infrastructure_we_started
}
trap stop_all EXIT
trap 'stop_all; exit 0' INT TERM

say "creating the service databases"
for entry in "${SERVICES[@]}"; do
  service=${entry%%:*}
  [[ $service == bff ]] && continue
  exists=$(psql "$ATES_DATABASE_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'ates_$service'")
  [[ $exists == 1 ]] || psql "$ATES_DATABASE_ADMIN_URL" -qc "CREATE DATABASE ates_$service"
done

# auth's secrets and first admin for this checkout, made once and kept: the signing keys in auth's
# database are encrypted with them.
if [[ ! -f $ATES_LOCAL/auth.env ]]; then
  random() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
  {
    echo "AUTH_BEAK_KEY=$(random 32)"
    echo "AUTH_KEY_ENCRYPTION_KEY=$(random 32)"
    echo "AUTH_BOOTSTRAP_ADMIN_EMAIL=admin@ates.local"
    echo "AUTH_BOOTSTRAP_ADMIN_BEAK=$(random 32 | tr '+/' '-_' | tr -d '=')"
  } >"$ATES_LOCAL/auth.env"
  chmod 600 "$ATES_LOCAL/auth.env"
fi
set -a
source "$ATES_LOCAL/auth.env"
set +a

make --no-print-directory tools
if port_open 127.0.0.1 "$MAIL_SMTP_PORT"; then
  warn "something already listens on 127.0.0.1:$MAIL_SMTP_PORT; payouts e-mails go there (set ATES_MAIL_SMTP_PORT for another port)"
else
  say "starting the mail catcher (maildev) on 127.0.0.1:$MAIL_SMTP_PORT"
  setsid tools/node_modules/.bin/maildev --ip 127.0.0.1 --smtp "$MAIL_SMTP_PORT" --web "$MAIL_WEB_PORT" \
    >"$ATES_LOCAL/logs/maildev.log" 2>&1 &
  echo $! >"$ATES_LOCAL/pids/maildev.pid"
fi

bash scripts/web.sh || warn "the web app could not be built: the BFF answers / with how to build it; the APIs work"
say "building the services ($PROFILE)"
if [[ $PROFILE == release ]]; then cargo build --release --bins; else cargo build --bins; fi
bin="$ATES_ROOT/target/$PROFILE"

# The last lines of a service's log, indented, on stderr.
last_log_lines() {
  { tail -n 12 "$ATES_LOCAL/logs/$1.log" 2>/dev/null || true; } | sed 's/^/    /' >&2
}

# Starts one service in a process group of its own (so Ctrl-C reaches this script alone), its
# output appended to its log.
start_service() {
  local service=$1 port=$2
  DATABASE_URL="${ATES_DATABASE_ADMIN_URL%/*}/ates_$service" \
    AMQP_URL="$ATES_AMQP_URL" \
    GRPC_LISTEN_ADDR="127.0.0.1:$port" \
    AUTH_URL="http://127.0.0.1:50051" \
    SMTP_URL="smtp://127.0.0.1:$MAIL_SMTP_PORT" \
    LOG_FORMAT=json \
    RUST_LIB_BACKTRACE=0 \
    setsid "$bin/$service-svc" >>"$ATES_LOCAL/logs/$service.log" 2>&1 &
  echo $! >"$ATES_LOCAL/pids/svc-$service.pid"
  started_at[$service]=$SECONDS
}
declare -A started_at failures next_start given_up

for entry in "${SERVICES[@]}"; do
  service=${entry%%:*}
  : >"$ATES_LOCAL/logs/$service.log"
  start_service "$service" "${entry##*:}"
  failures[$service]=0
done

say "waiting for every service to report SERVING"
for entry in "${SERVICES[@]}"; do
  service=${entry%%:*}
  port=${entry##*:}
  for attempt in $(seq 1 300); do
    "$bin/ates-healthcheck" "http://127.0.0.1:$port" 2>/dev/null && break
    if ! kill -0 "$(cat "$ATES_LOCAL/pids/svc-$service.pid")" 2>/dev/null; then
      last_log_lines "$service"
      die "$service-svc exited while starting (its last log lines are above; all of them in .local/logs/$service.log)"
    fi
    ((attempt == 300)) && die "$service-svc is not SERVING after 60 s; see .local/logs/$service.log"
    sleep 0.2
  done
done

cat <<TEXT

aTES is up. Open the dashboards: http://127.0.0.1:50055

  service         gRPC endpoint            log
  auth-svc        127.0.0.1:50051          .local/logs/auth.log
  tracker-svc     127.0.0.1:50052          .local/logs/tracker.log
  accounting-svc  127.0.0.1:50053          .local/logs/accounting.log
  payouts-svc     127.0.0.1:50054          .local/logs/payouts.log
  bff-svc         127.0.0.1:50055          .local/logs/bff.log
  analytics-svc   127.0.0.1:50056          .local/logs/analytics.log

  PostgreSQL      $ATES_DATABASE_ADMIN_URL
  RabbitMQ        $ATES_AMQP_URL
  E-mails         http://127.0.0.1:$MAIL_WEB_PORT  (the mail catcher: every payout e-mail lands here)

Call them with any gRPC client; reflection is on, so no proto files are needed. With buf
(installed by 'make tools' into tools/node_modules):

  grpc() { tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge "\$@"; }
  grpc --list-methods http://127.0.0.1:50051
  grpc http://127.0.0.1:50052/grpc.health.v1.Health/Check

The first admin is $AUTH_BOOTSTRAP_ADMIN_EMAIL; its beak (a secret: it signs in as the admin) is in
.local/auth.env. Sign in and use the token:

  TOKEN=\$(grpc -d "{\"beak\": \"$AUTH_BOOTSTRAP_ADMIN_BEAK\"}" \\
      http://127.0.0.1:50051/ates.auth.v1.AuthService/SignIn | sed -n 's/.*"accessToken": "\\(.*\\)".*/\\1/p')
  grpc -H "Authorization: Bearer \$TOKEN" -d '{"email": "popug@ates.local", "role": "ROLE_WORKER"}' \\
      http://127.0.0.1:50051/ates.auth.v1.AuthService/CreateAccount
  grpc -H "Authorization: Bearer \$TOKEN" -d '{}' \\
      http://127.0.0.1:50056/ates.analytics.v1.AnalyticsService/GetSummary

Ctrl-C here, or 'make down' from another terminal, stops everything 'make up' started.
TEXT

if ! tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \
  -d "{\"beak\": \"$AUTH_BOOTSTRAP_ADMIN_BEAK\"}" \
  http://127.0.0.1:50051/ates.auth.v1.AuthService/SignIn >/dev/null 2>&1; then
  warn "the beak in .local/auth.env no longer signs in: it was reissued (README: Reissuing a beak); sign in with the new one"
fi

# What ended a process: its exit status in words.
how_it_ended() {
  local status=$1
  if ((status > 128)); then
    echo "killed by signal $((status - 128))$( ((status == 137)) && echo ' (SIGKILL: out of memory, or killed)')"
  else
    echo "exited with status $status"
  fi
}

# Stay in the foreground until Ctrl-C or 'make down' (which stops this script), supervising the
# services: a dead one is reported and started again after a back-off, or given up.
while true; do
  for entry in "${SERVICES[@]}"; do
    service=${entry%%:*}
    [[ -n ${given_up[$service]:-} ]] && continue
    file="$ATES_LOCAL/pids/svc-$service.pid"
    if [[ -n ${next_start[$service]:-} ]]; then
      ((SECONDS >= next_start[$service])) || continue
      unset "next_start[$service]"
      start_service "$service" "${entry##*:}"
      say "$service-svc started again (pid $(cat "$file"))"
      continue
    fi
    [[ -f $file ]] || { say "$service-svc was stopped from elsewhere; stopping the rest"; exit 0; }
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
      ((SECONDS - started_at[$service] >= 60)) && failures[$service]=0
      continue
    fi
    status=0
    wait "$pid" 2>/dev/null || status=$?
    failures[$service]=$((failures[$service] + 1))
    warn "$service-svc $(how_it_ended "$status") after $((SECONDS - started_at[$service])) s; the last lines of .local/logs/$service.log:"
    last_log_lines "$service"
    if ((failures[$service] >= 5)); then
      given_up[$service]=1
      rm -f "$file"
      warn "giving up on $service-svc after ${failures[$service]} failures in a row; the other services keep running. Fix the cause, then: make down && make up"
      continue
    fi
    delay=$((1 << (failures[$service] - 1)))
    next_start[$service]=$((SECONDS + delay))
    say "starting $service-svc again in $delay s (failure ${failures[$service]} of 5)"
  done
  sleep 1
done
