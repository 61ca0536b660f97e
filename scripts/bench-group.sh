#!/usr/bin/env bash
# One group too big for one process (issue 23: 100,000 members): NODES chatd nodes on PostgreSQL
# and Redis, the group's receivers split over SLICES load-generator processes (one may hold at
# most 20,000 sockets here) and one more that publishes at RATE and merges the report
# (`loadgen --slices`, bench/src/slices.rs). Appends one JSON line to OUT: the merged report, every
# node's CPU and RSS over the publishing, and every load generator's CPU.
# usage: scripts/bench-group.sh LABEL MEMBERS
# Env: NODES (6), SLICES (6), MESSAGES (100), RATE (1), BIN (target/release), DB
# (postgres://…/chatd_bench), PREFIX (bench:), STATE (/tmp/group<MEMBERS>.json: the accounts and
# the group, made by the first run through the setup mode and reused; 100,000 Argon2id hashes take
# about 25 minutes here, and an interrupted set-up goes on where it stopped), OUT
# (bench/results/group.jsonl), LOADGEN (extra load-generator options, e.g. --tungstenite), CREATE
# (members the group is created with, at most 10,000; the owner invites the rest).
set -u
LABEL=$1; MEMBERS=$2
cd "$(dirname "$0")/.."
NODES=${NODES:-6}; SLICES=${SLICES:-6}; MESSAGES=${MESSAGES:-100}; RATE=${RATE:-1}
BIN=${BIN:-target/release}
DB=${DB:-postgres://postgres@127.0.0.1:5432/chatd_bench}
PREFIX=${PREFIX:-bench:}
STATE=${STATE:-/tmp/group$MEMBERS.json}
OUT=${OUT:-bench/results/group.jsonl}
read -r -a EXTRA <<< "${LOADGEN:-}"
psql "${DB%/*}/postgres" -qc "CREATE DATABASE ${DB##*/}" 2>/dev/null
lgs=()
trap 'kill "${pids[@]}" "${lgs[@]}" 2>/dev/null' EXIT
. scripts/nodes.sh
start_nodes "$NODES" gnode
nodes=(); for i in $(seq 2 "$NODES"); do nodes+=(--node "127.0.0.1:700$i"); done
"$BIN/loadgen" --state "$STATE" --server 127.0.0.1:7001 --setup-concurrency 8 setup --members "$MEMBERS" --create-members "${CREATE:-10000}" || exit 1
SYNC=$(mktemp -d /tmp/group-sync.XXXXXX)
common=(--state "$STATE" --server 127.0.0.1:7001 "${nodes[@]}" --slices "$SLICES" --sync "$SYNC" --connect-concurrency 64 "${EXTRA[@]}")
mode=(fanout --members "$MEMBERS" --messages "$MESSAGES" --rate "$RATE")
for k in $(seq 1 "$SLICES"); do
  "$BIN/loadgen" "${common[@]}" --slice "$k" "${mode[@]}" > "/tmp/gslice$k.out" 2>&1 &
  lgs+=($!)
done
"$BIN/loadgen" "${common[@]}" --label "$LABEL" --slice 0 "${mode[@]}" > /tmp/gpublisher.out 2>&1 &
pub=$!; lgs+=($pub)
cpu() { awk '{print ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
until [ -e "$SYNC/published" ] || ! kill -0 $pub 2>/dev/null; do sleep 0.05; done
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
rss_all=(); for p in "${pids[@]}"; do rss_all+=("$(rss "$p")"); done
wait $pub; status=$?
node_cpu=(); for k in "${!pids[@]}"; do node_cpu+=("$(echo "${before[$k]}" "$(cpu "${pids[$k]}")" | awk '{printf "%.2f", $2 - $1}')"); done
lg_cpu=(); for p in "${lgs[@]}"; do lg_cpu+=("$(cpu "$p")"); done
wait "${lgs[@]}" 2>/dev/null
tail -n 3 /tmp/gslice*.out
cat /tmp/gpublisher.out
[ $status -eq 0 ] || { echo "the publisher failed"; exit 1; }
report=$(grep '^{' /tmp/gpublisher.out | tail -1)
join() { local IFS=,; echo "$*"; }
echo "$report" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
r["nodes"] = int(sys.argv[1]); r["slices"] = int(sys.argv[2])
r["nodes_publish_cpu_s"] = [float(x) for x in sys.argv[3].split(",")]
r["nodes_rss_kib"] = [int(x) for x in sys.argv[4].split(",")]
print(json.dumps(r))' "$NODES" "$SLICES" "$(join "${node_cpu[@]}")" "$(join "${rss_all[@]}")" | tee -a "$OUT"
echo "nodes' CPU over publishing: ${node_cpu[*]} s; RSS with every member connected: ${rss_all[*]} KiB"
rm -rf "$SYNC"
