#!/usr/bin/env bash
# Heap allocations and bytes per request of svckit's hello, bare and with the default middleware set:
# one loop, 16 keep-alive connections (wrk), counted by an LD_PRELOAD allocator shim
# (bench/http/alloc_count.c). Each mode runs twice, for a short and a long load; the differences of
# the two runs' totals divided by the difference of their request counts is the cost of one request,
# with start-up and shut-down cancelled out.
# usage: bench/http/allocs.sh [build/release]          knobs: SHORT (1), LONG (4) seconds of load
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
[ -x "$build/cmd/hello/hello" ] || { echo "build $build first (make build-release)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -o "$work/alloc_count.so" bench/http/alloc_count.c
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run() {  # $1 seconds of load, $2... extra flags → "requests allocations bytes"
  local secs=$1; shift
  ALLOC_COUNT_OUT=$work/count LD_PRELOAD=$work/alloc_count.so "$build/cmd/hello/hello" --config-dir configs \
    --set http.host=127.0.0.1 --set http.port="$port" --set admin.port=0 --set app.workers=1 \
    --set log.output="$work/log" "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/hello" && break; sleep 0.05; done
  local n
  n=$(wrk -t1 -c16 -d"${secs}s" "http://127.0.0.1:$port/hello" | awk '/requests in/{print $1}')
  kill -TERM "$pid"; wait "$pid" || true
  echo "$((n + 1)) $(cat "$work/count")"
}

printf '| mode | allocations per request | bytes per request |\n|---|---|---|\n'
for mode in bare default; do
  flags=()
  [ "$mode" = bare ] && flags=(--set app.middleware=false --set log.level=warn)
  [ "$mode" = default ] && flags=(--set log.level=info)
  read -r n1 a1 b1 < <(run "${SHORT:-1}" "${flags[@]}")
  read -r n2 a2 b2 < <(run "${LONG:-4}" "${flags[@]}")
  awk -v m="$mode" -v n="$((n2 - n1))" -v a="$((a2 - a1))" -v b="$((b2 - b1))" \
    'BEGIN { printf "| %s | %.2f | %.0f |\n", m, a / n, b / n }'
done
