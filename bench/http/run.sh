#!/usr/bin/env bash
# HTTP speed race: svckit's hello (the same Release binary `make run` starts) against nginx, Gin, Echo,
# Go net/http and Boost.Beast, measured by ../shared/bench/peers.sh in one run, plus a pipelined run.
# usage: bench/http/run.sh [build/release]      knobs: ROUNDS (3), DURATION (5), OUT
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
peers=${PEERS_SH:-../shared/bench/peers.sh}
[ -x "$build/cmd/hello/hello" ] || { echo "build $build first (make build-release)"; exit 1; }
hello="$(pwd)/$build/cmd/hello/hello --config-dir $(pwd)/configs --set http.port=9000 --set admin.port=0 --set app.workers=\$THREADS"
OUT=${OUT:-/tmp/svckit-bench-http/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
export ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5} WARMUP=${WARMUP:-2}

echo "== 1. every peer and bare svckit (no middleware), pinned and shared"
OUT=$OUT/bare EXTRA_NAME=svckit-bare \
  EXTRA_CMD="$hello --set app.middleware=false --set log.level=warn" \
  bash "$peers" http://127.0.0.1:9000/hello | tee "$OUT/bare.log" | grep -E '^(pinned|shared)  r' || true

echo "== 2. default middleware (recovery, request id, access log to a file) vs nginx and Gin+Logger, pinned"
rm -f "$OUT/access.log"
OUT=$OUT/middleware EXTRA_NAME=svckit-default MODES=pinned PEERS="nginx gin-logger extra" \
  EXTRA_CMD="$hello --set log.level=info --set log.output=$OUT/access.log" \
  bash "$peers" http://127.0.0.1:9000/hello | tee "$OUT/middleware.log" | grep -E '^pinned  r' || true

echo "== 3. pipelined (16 requests per write), pinned: nginx vs svckit"
pipeline() {  # $1 name $2 command
  local name=$1 cmd=$2 r
  for r in $(seq 1 "$ROUNDS"); do
    THREADS=1 taskset -c 1 bash -c "exec $cmd" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$3/hello && break; sleep 0.1; done
    DEPTH=16 taskset -c 0 wrk -t1 -c64 -d"${DURATION}s" -s bench/http/pipeline.lua http://127.0.0.1:$3/hello \
      | awk -v n="$name" -v r="$r" '/Requests\/sec/{printf "pipelined %s r%s rps=%s\n", n, r, $2}'
    kill -TERM $pid; wait $pid 2>/dev/null || true
  done
}
nginx_dir=$(mktemp -d)
mkdir -p "$nginx_dir/logs" "$nginx_dir/conf"
cat > "$nginx_dir/conf/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $nginx_dir/nginx.pid; error_log $nginx_dir/logs/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:9100 reuseport; location /hello { default_type application/json; return 200 '{"msg":"hello"}'; } } }
NGX
pipeline nginx "nginx -p $nginx_dir -c $nginx_dir/conf/nginx.conf -e $nginx_dir/logs/error.log" 9100 | tee "$OUT/pipelined.log"
pipeline svckit "${hello//9000/9101} --set app.middleware=false --set log.level=warn" 9101 | tee -a "$OUT/pipelined.log"
rm -rf "$nginx_dir"

echo "== summaries in $OUT (bare/*/summary.csv, middleware/*/summary.csv, pipelined.log)"
find "$OUT" -name summary.csv -exec sh -c 'echo "--- $1"; cat "$1"' _ {} \;
