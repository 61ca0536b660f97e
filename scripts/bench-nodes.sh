#!/usr/bin/env bash
# Runs the load generator against N chatd nodes sharing PostgreSQL and Redis (BENCHMARKS.md).
# usage: scripts/bench-nodes.sh <nodes 1-9> <label> [loadgen mode and options...]
#   default mode: fanout --members 1000 --messages 10000 (S1)
#   e.g. scripts/bench-nodes.sh 3 s2-3nodes fanout --members 10000 --messages 600 --rate 10
# Env: BIN (target/release), DB (postgres://…/chatd_bench), PREFIX (bench:), STATE (the load
# generator's account file, reused across runs against the same database).
set -u
N=$1; LABEL=$2; shift 2
MODE=("$@"); [ ${#MODE[@]} -eq 0 ] && MODE=(fanout --members 1000 --messages 10000)
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
DB=${DB:-postgres://postgres@127.0.0.1:5432/chatd_bench}
PREFIX=${PREFIX:-bench:}
STATE=${STATE:-/tmp/lg1000pg.json}
psql "${DB%/*}/postgres" -qc "CREATE DATABASE ${DB##*/}" 2>/dev/null
. scripts/nodes.sh
start_nodes "$N" bnode
sleep 1
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
# Redis: commands by name and the server's CPU over the run (the cost of delivery between nodes).
rpid=$(redis-cli info server | awk -F: '/^process_id/{print $2}' | tr -d '\r')
rstats() { redis-cli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\1 \2/p' | sort; }
rstats > /tmp/bench-redis-before; rcpu=$(cpu "$rpid" 2>/dev/null || echo 0)
extra=(); for i in $(seq 2 "$N"); do extra+=(--node "127.0.0.1:700$i"); done
/usr/bin/time -f "loadgen cpu user %U sys %S wall %e" "$BIN/loadgen" --pid "${pids[0]}" --state "$STATE" --label "$LABEL" \
  --server 127.0.0.1:7001 "${extra[@]}" "${MODE[@]}" 2>&1 | tail -25
tck=$(getconf CLK_TCK)
for k in "${!pids[@]}"; do
  echo "node$((k+1)) cpu s: $(echo "scale=2; ($(cpu "${pids[$k]}") - ${before[$k]}) / $tck" | bc) rss KiB: $(awk '/VmRSS/{print $2}' "/proc/${pids[$k]}/status")"
done
rstats > /tmp/bench-redis-after
echo "redis cpu s: $(echo "scale=2; ($(cpu "$rpid" 2>/dev/null || echo 0) - $rcpu) / $tck" | bc)"
join -a2 /tmp/bench-redis-before /tmp/bench-redis-after | awk '{d = (NF == 3 ? $3 - $2 : $2); if (d > 0) printf "redis %s: %d\n", $1, d}'
kill "${pids[@]}"; wait
