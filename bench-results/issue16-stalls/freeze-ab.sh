#!/usr/bin/env bash
# A node in its own session (warm), then ROUNDS x: a CPU hog keeping both vCPUs busy (host freezes follow)
# and wrk with CONNS connections for SECS s on the rendezvous endpoint: non-2xx counted.
set -euo pipefail
ROOT=/work/main; PORT=8097; ROUNDS=${ROUNDS:-3}; SECS=${SECS:-20}; CONNS=${CONNS:-4}
W=$(mktemp -d)
python3 - "$W" <<'PY'
import json, random, sys
random.seed(7)
pixels = [random.randint(1, 255) if random.random() < 0.5 else 0 for _ in range(784)]
open(sys.argv[1] + '/long.json', 'w').write('{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":[' + ','.join(json.dumps(p / 255.0) for p in pixels) + ']}]}')
PY
cat > $W/long.lua <<LUA
local f = io.open("$W/long.json", "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/json"
LUA
RENDEZVOUS_DATA_DIR=$W/data RENDEZVOUS_HTTP_PORT=$PORT RENDEZVOUS_ARTERY_PORT=$((PORT+17500)) RENDEZVOUS_GRPC_PORT=$((PORT+1000)) RENDEZVOUS_MANAGEMENT_PORT=$((PORT+500)) \
  setsid $ROOT/node/bin/rendezvous serve > $W/node.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf $W' EXIT
for _ in $(seq 1 960); do curl -sf http://127.0.0.1:$PORT/v2/health/ready >/dev/null 2>&1 && break; sleep 0.25; done
echo "ready: $(grep -o 'warm-up: [^;]*' $W/node.log | head -1)"
for r in $(seq 1 $ROUNDS); do
  $ROOT/bench/bin/vcpu-stalls busy $((SECS+2)) > $W/hog.txt &
  hog=$!
  sleep 0.5
  wrk -t1 -c$CONNS -d${SECS}s -s $W/long.lua http://127.0.0.1:$PORT/v2/models/rendezvous/infer > $W/wrk.txt
  wait $hog
  echo "round $r: $(grep -E 'requests in' $W/wrk.txt | xargs) | non-2xx: $(grep -o 'Non-2xx or 3xx responses: [0-9]*' $W/wrk.txt | grep -o '[0-9]*$' || echo 0) | hog saw: $(grep -o '[0-9]* of 50 ms or more' $W/hog.txt | cut -d' ' -f1 | paste -sd+ | bc) freezes"
done
curl -s http://127.0.0.1:$PORT/v2/health/ready | grep -o '"late_deliveries[^,]*\|entity_timer_late_max_us":[0-9]*'
