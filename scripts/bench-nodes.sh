#!/usr/bin/env bash
# usage: scripts/bench-nodes.sh <nodes 1|2> <label>
set -u
N=$1; LABEL=$2
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
DB=${DB:-postgres://postgres@127.0.0.1:5432/chatd_bench}
PREFIX=${PREFIX:-bench:}
pids=()
for i in $(seq 1 $N); do
  CHAT_LISTEN=127.0.0.1:700$i CHAT_DATA_DIR=/tmp/bnode$i DATABASE_URL=$DB REDIS_URL=redis://127.0.0.1:6379 CHAT_REDIS_PREFIX=$PREFIX \
  CHAT_WS_FRAMES_PER_SEC=1000000 CHAT_MAX_CONNS_PER_IP=100000 CHAT_SIGNUP_IP_LIMIT=1000000 CHAT_LOG=warn CHAT_JWT_SECRET=bench-secret-0123456789abcdef0123456789 \
  $BIN/chatd > /tmp/bnode$i.log 2>&1 &
  pids+=($!)
done
for i in $(seq 1 $N); do
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:700$i/healthz >/dev/null && break; sleep 0.2; done
done
sleep 1
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
before=(); for p in "${pids[@]}"; do before+=($(cpu $p)); done
extra=""; [ $N -ge 2 ] && extra="--node 127.0.0.1:7002"
/usr/bin/time -f "loadgen cpu user %U sys %S wall %e" $BIN/loadgen --pid ${pids[0]} --state /tmp/lg1000pg.json --label $LABEL --server 127.0.0.1:7001 $extra fanout --members 1000 --messages 10000 2>&1 | tail -25
tck=$(getconf CLK_TCK)
for k in "${!pids[@]}"; do echo "node$((k+1)) cpu s: $(( ($(cpu ${pids[$k]}) - ${before[$k]}) / tck ))"; done
kill "${pids[@]}"; wait
