#!/usr/bin/env bash
# chatd against uWebSockets.js, interleaved (BENCHMARKS.md "Issue 23"): each round runs the load
# generator once against a fresh chatd (embedded SQLite) and once against a fresh uWS peer
# (../shared/peers), same mode and options, and appends each run's JSON line (the load
# generator's report, which holds both sides' CPU over the publishing phase, plus both sides'
# CPU over the whole run) to $OUT, and chatd's /metrics after each run to $DATA/<label>.metrics.
# usage: scripts/versus.sh <label> <loadgen mode and options...>
#   e.g. scripts/versus.sh s2 fanout --members 10000 --messages 600 --rate 10
#        LOADGEN="--tungstenite" scripts/versus.sh s2-tt fanout --members 10000 --messages 600 --rate 10
# Env: BIN (target/release), RUNS (3), PORT (7103, chatd), UWS_PORT (9001), DATA (/tmp/versus:
# chatd's data directory and accounts, reused), OUT (bench/results/versus.jsonl), LOADGEN (more
# load generator options, before the mode), PEERS (../shared/peers), SKIP_UWS (1: chatd only),
# UWS_ONLY (1: uWS only), IDEAL (a third contender speaking the peers' protocol, run after uWS in
# each round: the path of bench/experiments/ideal-fanout's binary, the least a server can do;
# IDEAL_PORT 9002).
set -u
LABEL=$1; shift
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
RUNS=${RUNS:-3}
PORT=${PORT:-7103}
UWS_PORT=${UWS_PORT:-9001}
DATA=${DATA:-/tmp/versus}
OUT=${OUT:-bench/results/versus.jsonl}
PEERS=${PEERS:-../shared/peers}
read -r -a EXTRA <<< "${LOADGEN:-}"
mkdir -p "$DATA" "$(dirname "$OUT")"
STATE="$DATA/state-$(echo "$*" | tr -c 'a-z0-9' '-').json"
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Runs the load generator against PID; prints its JSON line with both sides' whole-run CPU added.
measure() {
  local label=$1 pid=$2; shift 2
  local c0 line srv
  c0=$(cpu "$pid")
  line=$(ulimit -n 20000; /usr/bin/time -f "%U %S" -o "$DATA/time" "$BIN/loadgen" --pid "$pid" \
    --label "$label" "${EXTRA[@]}" "$@" 2>"$DATA/$label.err" | grep '^{')
  srv=$(echo "scale=2; ($(cpu "$pid") - $c0) / $(getconf CLK_TCK)" | bc)
  read -r lu ls < "$DATA/time"
  if [ -z "$line" ]; then echo "run $label failed: $(tail -3 "$DATA/$label.err")" >&2; return 1; fi
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(label=sys.argv[2], server_cpu_s=float(sys.argv[3]), loadgen_cpu_s=float(sys.argv[4])+float(sys.argv[5])); print(json.dumps(d))' \
    "$line" "$label" "$srv" "$lu" "$ls" | tee -a "$OUT"
}
chatd_run() {
  CHAT_LISTEN=127.0.0.1:$PORT CHAT_DATA_DIR=$DATA/db CHAT_WS_FRAMES_PER_SEC=1000000 \
    CHAT_MAX_CONNS_PER_IP=100000 CHAT_SIGNUP_IP_LIMIT=1000000 CHAT_LOG=warn \
    CHAT_JWT_SECRET=bench-secret-0123456789abcdef0123456789 "$BIN/chatd" > "$DATA/chatd.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  measure "$1" "$pid" --server "127.0.0.1:$PORT" --state "$STATE" "${@:2}"
  # The server's own histograms (fan-out passes, store batches, position flushes) for the run.
  curl -sf "http://127.0.0.1:$PORT/metrics" > "$DATA/$1.metrics"
  kill "$pid"; wait "$pid" 2>/dev/null
}
uws_run() {
  local pid
  pid=$(PORT=$UWS_PORT "$PEERS/run-peer.sh" uws) || return 1
  measure "$1" "$pid" --peer --server "127.0.0.1:$UWS_PORT" "${@:2}"
  "$PEERS/stop.sh" "$pid"
}
ideal_run() {
  "$IDEAL" "127.0.0.1:${IDEAL_PORT:-9002}" 2>"$DATA/ideal.log" &
  local pid=$!
  sleep 0.5
  measure "$1" "$pid" --peer --server "127.0.0.1:${IDEAL_PORT:-9002}" "${@:2}"
  kill "$pid"; wait "$pid" 2>/dev/null
}
# Accounts (Argon2) are made by an unrecorded run, so they never count as the server's CPU.
[ -f "$STATE" ] || OUT=/dev/null chatd_run setup "$@" >/dev/null
for r in $(seq 1 "$RUNS"); do
  [ "${UWS_ONLY:-0}" = 1 ] || chatd_run "$LABEL-chatd-$r" "$@"
  [ "${SKIP_UWS:-0}" = 1 ] || uws_run "$LABEL-uws-$r" "$@"
  [ -z "${IDEAL:-}" ] || ideal_run "$LABEL-ideal-$r" "$@"
done
