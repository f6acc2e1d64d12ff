# Shared helpers of aTES's scripts. Sourced, not run.

ATES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ATES_LOCAL="$ATES_ROOT/.local"
mkdir -p "$ATES_LOCAL/pids" "$ATES_LOCAL/logs"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The host and port of a URL such as postgres://user@host:port/db.
url_host() { local rest="${1#*://}"; rest="${rest%%/*}"; rest="${rest##*@}"; echo "${rest%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest%%/*}"; rest="${rest##*@}"; echo "${rest##*:}"; }

# Whether something accepts TCP connections at host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A port on 127.0.0.1 nothing listens on now, below Linux's range of ephemeral client ports.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 10000))
    port_open 127.0.0.1 "$port" || { echo "$port"; return 0; }
  done
}

# Whether a RabbitMQ at host:port answers the AMQP protocol header within 5 s (a broker can accept
# TCP connections and still be wedged).
amqp_answers() {
  (
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf 'AMQP\x00\x00\x09\x01' >&3
    IFS= read -r -t 5 -N 1 _reply <&3
  ) 2>/dev/null
}

# Install Debian packages, as root only; otherwise say exactly what to install.
ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}"
  fi
  say "installing ${missing[*]}"
  # Package scripts must not start system services: we run our own instances.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    local remove_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  [[ -n ${remove_policy:-} ]] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# Whether pid $1 is a running `make up` of this checkout (a pid file left by a killed run may
# name an unrelated process by now).
up_is_running() {
  kill -0 "$1" 2>/dev/null && [[ $(ps -o args= -p "$1" 2>/dev/null) == *scripts/up.sh* ]]
}

# Kill a process we started, by the pid file we wrote, and wait for it.
stop_pidfile() {
  local file="$1" pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

# Find or start PostgreSQL and RabbitMQ, export their URLs (also as the tests' ATES_TEST_*), and
# stop at exit whatever this call had to start.
use_infrastructure() {
  ATES_INFRA_BEFORE=$(ls "$ATES_LOCAL/pids")
  bash "$ATES_ROOT/scripts/infra.sh" ensure
  set -a
  source "$ATES_LOCAL/infra.env"
  set +a
  export ATES_TEST_DATABASE_URL="$ATES_DATABASE_ADMIN_URL" ATES_TEST_AMQP_URL="$ATES_AMQP_URL"
  trap 'stop_infrastructure_we_started' EXIT
}

stop_infrastructure_we_started() {
  if [[ $ATES_INFRA_BEFORE != "$(ls "$ATES_LOCAL/pids")" ]]; then
    bash "$ATES_ROOT/scripts/infra.sh" stop
  fi
}

# The PostgreSQL and RabbitMQ server programs (not running servers): the chaos soak and the crash
# tests start, kill and restart their own.
ensure_server_packages() {
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || ensure_packages postgresql
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || command -v rabbitmq-server >/dev/null ||
    ensure_packages rabbitmq-server
}
