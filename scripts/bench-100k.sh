#!/usr/bin/env bash
# 100,000 authenticated connections over six chatd nodes on one box (issue 20, BENCHMARKS.md):
# six load-generator processes hold 15,000 idle connections each (spread over every node), then a
# seventh runs S2's 10,000-member group over the same six nodes: 100,000 sockets in all, and
# every group message must reach the 10,000 online members. Reports each node's RSS and CPU.
# The first run registers the accounts (an Argon2id hash each: about 25 minutes here) and keeps
# them in /tmp/idle<k>.json and /tmp/lg10kpg.json for the next runs.
# usage: scripts/bench-100k.sh
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
DB=${DB:-postgres://postgres@127.0.0.1:5432/chatd_bench}
PREFIX=${PREFIX:-bench:}
NODES=6; IDLE=15000
psql "${DB%/*}/postgres" -qc "CREATE DATABASE ${DB##*/}" 2>/dev/null
pids=()
for i in $(seq 1 $NODES); do
  CHAT_LISTEN=127.0.0.1:700$i CHAT_DATA_DIR=/tmp/bnode$i DATABASE_URL=$DB REDIS_URL=redis://127.0.0.1:6379 CHAT_REDIS_PREFIX=$PREFIX \
  CHAT_WS_FRAMES_PER_SEC=1000000 CHAT_MAX_CONNS_PER_IP=100000 CHAT_SIGNUP_IP_LIMIT=1000000 CHAT_LOG=warn CHAT_JWT_SECRET=bench-secret-0123456789abcdef0123456789 \
  "$BIN/chatd" > "/tmp/bnode$i.log" 2>&1 &
  pids+=($!)
done
trap 'kill "${pids[@]}" "${idle[@]}" 2>/dev/null' EXIT
for i in $(seq 1 $NODES); do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:700$i/healthz" >/dev/null && break; sleep 0.2; done
done
sleep 1
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
base=0; for p in "${pids[@]}"; do base=$((base + $(rss "$p"))); done
echo "six idle nodes: RSS $base KiB"
all=(); for i in $(seq 1 $NODES); do all+=(--node "127.0.0.1:700$i"); done
idle=()
for k in $(seq 1 $NODES); do
  # Process k registers through node k (its state file names it) and spreads its sockets over
  # all six: connection i goes to the i-th address of --server and --node in turn.
  others=(); for i in $(seq 1 $NODES); do [ "$i" != "$k" ] && others+=(--node "127.0.0.1:700$i"); done
  "$BIN/loadgen" --state "/tmp/idle$k.json" --server "127.0.0.1:700$k" "${others[@]}" \
    --connect-concurrency 32 idle --conns $IDLE --hold 100000 > "/tmp/idle$k.out" 2>&1 &
  idle+=($!)
done
established() { ss -Htn state established '( sport >= :7001 and sport <= :7006 )' | wc -l; }
for _ in $(seq 1 3600); do
  n=$(established); [ "$n" -ge $((NODES * IDLE)) ] && break; sleep 1
done
echo "idle connections established: $(established)"
sleep 5
idle_rss=0; for p in "${pids[@]}"; do idle_rss=$((idle_rss + $(rss "$p"))); done
echo "nodes' RSS with $(established) idle connections: $idle_rss KiB ($(echo "scale=2; ($idle_rss - $base) / $(established)" | bc) KiB per connection)"
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
others=(); for i in $(seq 2 $NODES); do others+=(--node "127.0.0.1:700$i"); done
/usr/bin/time -f "group loadgen cpu user %U sys %S wall %e" "$BIN/loadgen" --state /tmp/lg10kpg.json --label s2-6nodes-100k \
  --server 127.0.0.1:7001 "${others[@]}" fanout --members 10000 --messages 100 --rate 10 2>&1 | tail -16
echo "connections during the group run: $(established)"
total=0
for k in "${!pids[@]}"; do
  r=$(rss "${pids[$k]}"); total=$((total + r))
  echo "node$((k+1)) cpu s: $(echo "scale=2; ($(cpu "${pids[$k]}") - ${before[$k]}) / $tck" | bc) rss KiB: $r"
done
echo "nodes' RSS in all: $total KiB"
for k in "${!idle[@]}"; do
  echo "idle loadgen $((k+1)) cpu s (setup, connect, hold): $(echo "scale=2; $(cpu "${idle[$k]}") / $tck" | bc) rss KiB: $(rss "${idle[$k]}")"
done
kill "${idle[@]}" 2>/dev/null; wait "${idle[@]}" 2>/dev/null
