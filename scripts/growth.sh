#!/usr/bin/env bash
# Cost growth (issue 23, BENCHMARKS.md "Issue 23"): one chatd (embedded SQLite, a fresh process per
# run) against the load generator, for
#   - groups of 100, 1,000 and 10,000 members (one publisher, window 16): deliveries/s, p99, and
#     the server's CPU per delivery;
#   - 1,000, 10,000 and 19,000 idle authenticated connections: RSS per connection.
# Accounts are registered first, by an unrecorded run, and reused. Each run appends one JSON line (the load generator's report plus the server's and the load
# generator's CPU seconds) to $OUT; scripts/growth-plot.py draws the SVG from it.
# Env: BIN (target/release), PORT (7103), OUT (bench/results/growth.jsonl), DATA (/tmp/growth: data directory
# and account files, reused across runs), RUNS (1). Registering 19,000 accounts takes minutes.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
OUT=${OUT:-bench/results/growth.jsonl}
DATA=${DATA:-/tmp/growth}
RUNS=${RUNS:-1}
PORT=${PORT:-7103}
mkdir -p "$DATA" "$(dirname "$OUT")"
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
run() {
  local label=$1 state=$2; shift 2
  # Accounts are made by an unrecorded first run: Argon2 would otherwise count as the server's
  # CPU in the recorded one.
  if [ ! -f "$DATA/state-$state.json" ]; then
    OUT=/dev/null run_once "$label" "$state" "$@" >/dev/null
  fi
  run_once "$label" "$state" "$@"
}
run_once() {
  local label=$1 state=$2; shift 2
  CHAT_LISTEN=127.0.0.1:$PORT CHAT_DATA_DIR=$DATA/db CHAT_WS_FRAMES_PER_SEC=1000000 \
    CHAT_MAX_CONNS_PER_IP=100000 CHAT_SIGNUP_IP_LIMIT=1000000 CHAT_LOG=warn \
    CHAT_JWT_SECRET=bench-secret-0123456789abcdef0123456789 "$BIN/chatd" > "$DATA/$label.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  local c0; c0=$(cpu $pid)
  local line
  line=$(ulimit -n 20000; /usr/bin/time -f "%U %S" -o "$DATA/time" "$BIN/loadgen" --server 127.0.0.1:$PORT \
    --pid $pid --state "$DATA/state-$state.json" --label "$label" "$@" 2>/dev/null | grep '^{')
  local srv; srv=$(echo "scale=2; ($(cpu $pid) - $c0) / $(getconf CLK_TCK)" | bc)
  kill $pid; wait $pid 2>/dev/null
  read -r lu ls < "$DATA/time"
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(label=sys.argv[2], server_cpu_s=float(sys.argv[3]), loadgen_cpu_s=float(sys.argv[4])+float(sys.argv[5])); print(json.dumps(d))' \
    "$line" "$label" "$srv" "$lu" "$ls" | tee -a "$OUT"
}
for _ in $(seq 1 "$RUNS"); do
  run group-100 group-100 fanout --members 100 --messages 20000 --window 16
  run group-1000 group-1000 fanout --members 1000 --messages 10000 --window 16
  run group-10000 group-10000 fanout --members 10000 --messages 500 --window 16
  # The idle runs share one set of accounts (the first N of 19,000).
  run idle-1000 idle idle --conns 1000 --hold 3
  run idle-10000 idle idle --conns 10000 --hold 3
  run idle-19000 idle idle --conns 19000 --hold 3
done
python3 scripts/growth-plot.py "$OUT" docs/growth.svg
