#!/usr/bin/env bash
# Runs every test (unit and black-box) against both backends: the embedded configuration and
# PostgreSQL + Redis. Makes those services available first: starts them when installed but
# stopped, installs them with apt (as root) when absent. Used by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export CHATD_TEST_PG_URL="${CHATD_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export CHATD_TEST_REDIS_URL="${CHATD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

log() { printf '[test.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $*"; return 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ok() { psql "$CHATD_TEST_PG_URL" -Atqc 'select 1' >/dev/null 2>&1; }

ensure_postgres() {
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  pg_ok && return 0
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "installing PostgreSQL"
    apt_install postgresql
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
    sleep 0.5
  done
  if ! pg_ok; then
    # A fresh cluster asks TCP clients for a password: trust local connections (test machine).
    local hba="/etc/postgresql/$ver/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      log "allowing trusted local TCP connections in $hba"
      as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >/dev/null 2>&1 || true
      sleep 1
    fi
  fi
  pg_ok || { log "PostgreSQL is not reachable at $CHATD_TEST_PG_URL"; exit 1; }
}

redis_ok() { redis-cli -u "$CHATD_TEST_REDIS_URL" ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools
  # The Redis-outage fault test runs a redis-server of its own, so the binary is needed even
  # when a Redis is already running.
  command -v redis-server >/dev/null 2>&1 || { log "installing Redis"; apt_install redis-server; }
  redis_ok && return 0
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 40); do redis_ok && break; sleep 0.25; done
  redis_ok || { log "Redis is not reachable at $CHATD_TEST_REDIS_URL"; exit 1; }
}

ensure_ffmpeg() {
  command -v ffmpeg >/dev/null 2>&1 && return 0
  log "installing ffmpeg (video screenshots)"
  apt_install ffmpeg
}

export CHATD_TEST_S3_ENDPOINT="${CHATD_TEST_S3_ENDPOINT:-http://127.0.0.1:9090}"

s3_ok() {
  python3 -c "import urllib.request,sys; urllib.request.urlopen('$CHATD_TEST_S3_ENDPOINT/', timeout=2)" >/dev/null 2>&1
}

# A local S3-compatible server for the object-store tests: moto's, from PyPI.
ensure_s3() {
  s3_ok && return 0
  command -v python3 >/dev/null 2>&1 || apt_install python3
  if ! command -v moto_server >/dev/null 2>&1; then
    log "installing moto (local S3-compatible server)"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    python3 -m pip install -q 'moto[server]' 2>/dev/null \
      || python3 -m pip install -q --break-system-packages 'moto[server]'
    hash -r
  fi
  local port="${CHATD_TEST_S3_ENDPOINT##*:}"
  log "starting moto_server on port $port"
  setsid nohup moto_server -H 127.0.0.1 -p "$port" </dev/null >/tmp/chatd-moto.log 2>&1 &
  for _ in $(seq 1 80); do s3_ok && break; sleep 0.25; done
  s3_ok || { log "the S3 test server is not reachable at $CHATD_TEST_S3_ENDPOINT"; exit 1; }
}

# The web client's test: Debian's Chromium driven by playwright-core from the npm registry (no
# browser download: playwright-core never fetches one).
ensure_browser() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  [ -x /usr/bin/chromium ] || { log "installing Chromium"; apt_install chromium; }
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
}

# Starts the server built by the tests on a free port with a fresh data directory, drives the web
# client in Chromium (tests/browser/chat.mjs), stops the server.
run_browser_test() {
  local port dir pid rc=0
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dir=$(mktemp -d)
  CHAT_LISTEN="127.0.0.1:$port" CHAT_DATA_DIR="$dir" RUST_LOG=warn target/debug/chatd \
    >"$dir/chatd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  node tests/browser/chat.mjs "http://127.0.0.1:$port" || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$rc" != 0 ]; then
    log "the browser test failed; the server's log:"
    tail -n 50 "$dir/chatd.log" >&2 || true
  fi
  rm -rf "$dir"
  return "$rc"
}

ensure_postgres
ensure_redis
ensure_ffmpeg
ensure_s3
ensure_browser
command -v curl >/dev/null 2>&1 || apt_install curl

# Leftovers of earlier runs: the per-test databases and Redis key prefixes.
for db in $(psql "$CHATD_TEST_PG_URL" -Atqc "select datname from pg_database where datname like 'chatd_t_%'"); do
  psql "$CHATD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
done
redis-cli -u "$CHATD_TEST_REDIS_URL" --scan --pattern 'chatd_t*' | xargs -r -n 500 redis-cli -u "$CHATD_TEST_REDIS_URL" del >/dev/null

log "running tests (embedded and PostgreSQL + Redis)"
cargo test --workspace --all-targets "$@"

log "running the web client's test in Chromium"
run_browser_test
