#!/usr/bin/env bash
# PostgreSQL and RabbitMQ for aTES.
#
#   scripts/infra.sh ensure   use the servers at ATES_DATABASE_ADMIN_URL / ATES_AMQP_URL when they
#                             answer, otherwise start project-local ones under .local/ (installing
#                             the Debian packages when missing and running as root). Writes the
#                             URLs to .local/infra.env.
#   scripts/infra.sh stop     stop the project-local servers this script started, and only those.
#   scripts/infra.sh test-broker       start a fresh RabbitMQ for one test run (URL in
#                                      .local/test-broker.env); stop-test-broker stops it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATABASE_URL_DEFAULT="postgres://postgres@127.0.0.1:5432/postgres"
AMQP_URL_DEFAULT="amqp://guest:guest@127.0.0.1:5672/%2f"
LOCAL_PG_PORT=${ATES_LOCAL_PG_PORT:-55432}
LOCAL_AMQP_PORT=${ATES_LOCAL_AMQP_PORT:-55672}
LOCAL_EPMD_PORT=${ATES_LOCAL_EPMD_PORT:-54369}
LOCAL_DIST_PORT=${ATES_LOCAL_DIST_PORT:-55673}

postgres_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $dir ]] && echo "$dir"
}

postgres_answers() {
  local url="$1"
  if command -v pg_isready >/dev/null; then
    pg_isready -q -d "$url" -t 2
  else
    port_open "$(url_host "$url")" "$(url_port "$url")"
  fi
}

start_local_postgres() {
  postgres_bin >/dev/null || ensure_packages postgresql
  local bin data="$ATES_LOCAL/postgres/data" log="$ATES_LOCAL/logs/postgres.log"
  bin=$(postgres_bin) || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  local run=()
  if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses to run as root: the cluster belongs to the postgres user.
    id postgres >/dev/null 2>&1 || die "the postgres user is missing (install the postgresql package)"
    run=(runuser -u postgres --)
    mkdir -p "$ATES_LOCAL/postgres"
    chown postgres "$ATES_LOCAL/postgres"
    touch "$log" && chown postgres "$log"
  else
    mkdir -p "$ATES_LOCAL/postgres"
  fi
  if [[ ! -f $data/PG_VERSION ]]; then
    say "creating a local PostgreSQL cluster in .local/postgres"
    "${run[@]}" "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
  fi
  say "starting local PostgreSQL on 127.0.0.1:$LOCAL_PG_PORT"
  "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $LOCAL_PG_PORT -c listen_addresses=127.0.0.1 -k $ATES_LOCAL/postgres" start >/dev/null
  head -n 1 "$data/postmaster.pid" >"$ATES_LOCAL/pids/postgres.pid"
}

# Starts a RabbitMQ node with its data under $1, as node $2 on AMQP port $3, with an epmd of its
# own on port $4 and distribution port $5; pid files go to $ATES_LOCAL/pids/$6-*.pid. Returns
# once the node answers the AMQP protocol header.
start_rabbitmq_node() {
  local base="$1" node="$2" amqp_port="$3" epmd_port="$4" dist_port="$5" name="$6"
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || ensure_packages rabbitmq-server
  local server=/usr/lib/rabbitmq/bin/rabbitmq-server
  [[ -x $server ]] || server=$(command -v rabbitmq-server) || die "rabbitmq-server not found"
  mkdir -p "$base"
  echo "[]." >"$base/enabled_plugins"
  # An epmd of our own, on its own port, so that stopping ours never touches anyone else's.
  setsid epmd -port "$epmd_port" >/dev/null 2>&1 &
  echo $! >"$ATES_LOCAL/pids/$name-epmd.pid"
  HOME="$base" ERL_EPMD_PORT="$epmd_port" RABBITMQ_NODENAME="$node" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port" \
    RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/logs" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" RABBITMQ_CONFIG_FILE="$base/rabbitmq" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$base/advanced.config" RABBITMQ_CONF_ENV_FILE="$base/rabbitmq-env.conf" \
    setsid "$server" >"$base/rabbitmq.out" 2>&1 &
  echo $! >"$ATES_LOCAL/pids/$name.pid"
  for _ in $(seq 1 300); do
    amqp_answers 127.0.0.1 "$amqp_port" && return 0
    sleep 0.2
  done
  die "RabbitMQ did not start on port $amqp_port; see $base/rabbitmq.out"
}

# Stops a node started by start_rabbitmq_node under the pid-file name $1, and its epmd.
stop_rabbitmq_node() {
  local name="$1"
  if [[ -f $ATES_LOCAL/pids/$name.pid ]]; then
    # The node runs in the process group its start script leads.
    kill -TERM -- "-$(cat "$ATES_LOCAL/pids/$name.pid")" 2>/dev/null || true
    stop_pidfile "$ATES_LOCAL/pids/$name.pid"
  fi
  stop_pidfile "$ATES_LOCAL/pids/$name-epmd.pid"
}

start_local_rabbitmq() {
  say "starting local RabbitMQ on 127.0.0.1:$LOCAL_AMQP_PORT"
  start_rabbitmq_node "$ATES_LOCAL/rabbitmq" "ates-local@localhost" "$LOCAL_AMQP_PORT" \
    "$LOCAL_EPMD_PORT" "$LOCAL_DIST_PORT" rabbitmq
}

# A broker for one test run, with fresh data, on free ports; its URL goes to
# .local/test-broker.env. The suite declares and deletes some two thousand quorum queues per run,
# a churn RabbitMQ's quorum queues were not designed for: a long-lived broker that has seen hours
# of it has been seen to stall for many minutes. A fresh one per run keeps the suite independent
# of the history of whatever broker the machine has.
start_test_broker() {
  local base="$ATES_LOCAL/test-broker" amqp_port epmd_port dist_port
  stop_rabbitmq_node test-broker
  rm -rf "$base"
  amqp_port=$(free_port) epmd_port=$(free_port) dist_port=$(free_port)
  say "starting a fresh RabbitMQ for the tests on 127.0.0.1:$amqp_port"
  start_rabbitmq_node "$base" "ates-test-$$@localhost" "$amqp_port" "$epmd_port" "$dist_port" test-broker
  echo "ATES_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:$amqp_port/%2f" >"$ATES_LOCAL/test-broker.env"
}

ensure() {
  local database_url="${ATES_DATABASE_ADMIN_URL:-$DATABASE_URL_DEFAULT}"
  local amqp_url="${ATES_AMQP_URL:-$AMQP_URL_DEFAULT}"
  local local_database_url="postgres://postgres@127.0.0.1:$LOCAL_PG_PORT/postgres"
  local local_amqp_url="amqp://guest:guest@127.0.0.1:$LOCAL_AMQP_PORT/%2f"

  if postgres_answers "$database_url"; then
    :
  elif postgres_answers "$local_database_url"; then
    database_url="$local_database_url"
  else
    warn "PostgreSQL does not answer at $database_url"
    start_local_postgres
    database_url="$local_database_url"
  fi
  command -v psql >/dev/null || ensure_packages postgresql-client

  if amqp_answers "$(url_host "$amqp_url")" "$(url_port "$amqp_url")"; then
    :
  elif amqp_answers 127.0.0.1 "$LOCAL_AMQP_PORT"; then
    amqp_url="$local_amqp_url"
  else
    warn "RabbitMQ does not answer the AMQP handshake at $amqp_url"
    start_local_rabbitmq
    amqp_url="$local_amqp_url"
  fi
  # Tests start private brokers of their own: they need the server binaries and epmd here.
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || command -v rabbitmq-server >/dev/null || ensure_packages rabbitmq-server

  cat >"$ATES_LOCAL/infra.env" <<ENV
ATES_DATABASE_ADMIN_URL=$database_url
ATES_AMQP_URL=$amqp_url
ENV
  say "PostgreSQL: $database_url"
  say "RabbitMQ:   $amqp_url"
}

stop() {
  if [[ -f $ATES_LOCAL/pids/postgres.pid ]]; then
    local bin
    bin=$(postgres_bin)
    say "stopping local PostgreSQL"
    if [[ $(id -u) -eq 0 ]]; then
      runuser -u postgres -- "$bin/pg_ctl" -D "$ATES_LOCAL/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
    else
      "$bin/pg_ctl" -D "$ATES_LOCAL/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -f "$ATES_LOCAL/pids/postgres.pid"
  fi
  if [[ -f $ATES_LOCAL/pids/rabbitmq.pid ]]; then
    say "stopping local RabbitMQ"
    stop_rabbitmq_node rabbitmq
  fi
}

case "${1:-}" in
  ensure) ensure ;;
  stop) stop ;;
  test-broker) start_test_broker ;;
  stop-test-broker) stop_rabbitmq_node test-broker; rm -rf "$ATES_LOCAL/test-broker" ;;
  *) die "usage: scripts/infra.sh ensure|stop|test-broker|stop-test-broker" ;;
esac
