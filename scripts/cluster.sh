#!/usr/bin/env bash
# Starts three chatd nodes as one service behind HAProxy (Debian's package), on this machine:
#   nodes on 127.0.0.1:7101, :7102, :7103; clients use 127.0.0.1:7100.
# Needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL (defaults below). Ctrl-C stops all.
# Builds the release binary first. As root, installs haproxy when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chatd_cluster}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
PREFIX=${CHAT_REDIS_PREFIX:-chatd:}
SECRET=${CHAT_JWT_SECRET:-cluster-demo-secret-change-me-0123456789}
RUN=${RUN_DIR:-target/cluster}

if ! command -v haproxy >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  else
    echo "haproxy is needed (apt-get install haproxy)" >&2
    exit 1
  fi
fi
# The database must exist (every node migrates it; they agree).
if [[ $DATABASE_URL == postgres* ]] && command -v psql >/dev/null; then
  db=${DATABASE_URL##*/}
  psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
    psql "${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE $db" >/dev/null
fi

cargo build --release
mkdir -p "$RUN"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in 1 2 3; do
  CHAT_LISTEN=127.0.0.1:710$i CHAT_DATA_DIR="$RUN/node$i" DATABASE_URL=$DATABASE_URL \
    REDIS_URL=$REDIS_URL CHAT_REDIS_PREFIX=$PREFIX CHAT_JWT_SECRET=$SECRET \
    CHAT_TRUSTED_PROXIES=127.0.0.1/32 target/release/chatd >"$RUN/node$i.log" 2>&1 &
  pids+=($!)
done
cat >"$RUN/haproxy.cfg" <<EOF
global
  maxconn 60000
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  option forwardfor
frontend chat
  bind 127.0.0.1:7100
  default_backend nodes
backend nodes
  balance leastconn
  option httpchk GET /readyz
  server node1 127.0.0.1:7101 check
  server node2 127.0.0.1:7102 check
  server node3 127.0.0.1:7103 check
EOF
haproxy -f "$RUN/haproxy.cfg" -db &
pids+=($!)
echo "three nodes behind http://127.0.0.1:7100 (logs in $RUN); Ctrl-C stops them"
wait
