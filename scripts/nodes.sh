# Sourced by the benchmark scripts: start_nodes N NAME starts N chatd nodes on 127.0.0.1:7001…
# sharing $DB (PostgreSQL) and Redis under $PREFIX, with the per-address and per-socket limits
# lifted for the load generator, logs in /tmp/NAME<i>.log, data in /tmp/NAME<i>; their process
# ids are in the array `pids`. Returns once every node answers /healthz.
start_nodes() {
  local n=$1 name=$2 i
  pids=()
  for i in $(seq 1 "$n"); do
    CHAT_LISTEN=127.0.0.1:700$i CHAT_DATA_DIR=/tmp/$name$i DATABASE_URL=$DB REDIS_URL=redis://127.0.0.1:6379 CHAT_REDIS_PREFIX=$PREFIX \
    CHAT_WS_FRAMES_PER_SEC=1000000 CHAT_MAX_CONNS_PER_IP=1000000 CHAT_SIGNUP_IP_LIMIT=10000000 CHAT_LOG=warn CHAT_JWT_SECRET=bench-secret-0123456789abcdef0123456789 \
    "$BIN/chatd" > "/tmp/$name$i.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:700$i/healthz" >/dev/null && break; sleep 0.2; done
  done
}
