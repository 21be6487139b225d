#!/usr/bin/env bash
# User-space instructions per request of svckit's hello under callgrind (deterministic: compares
# builds, not machines), bare and with the default middleware set: one loop, 64 keep-alive
# connections. Each mode runs twice with different request counts; the difference of the two runs'
# instruction totals over the difference of their request counts is one request's cost, start-up and
# shut-down cancelled out.
# usage: bench/http/instr.sh [HELLO_BINARY]      (default build/test/cmd/hello/hello)
set -euo pipefail
cd "$(dirname "$0")/../.."
hello=${1:-build/test/cmd/hello/hello}
[ -x "$hello" ] || { echo "no $hello: build it first"; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/deps.sh bench)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

run() {  # $1 seconds of load, $2... extra flags → "requests instructions"
  local secs=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$hello" --config-dir configs \
    --set http.host=127.0.0.1 --set http.port="$port" --set admin.port=0 --set app.workers=1 \
    --set log.output="$work/log" "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 400); do curl -s -o /dev/null "http://127.0.0.1:$port/hello" && break; sleep 0.05; done
  local n
  n=$(wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$port/hello" | awk '/requests in/{print $1}')
  kill -TERM "$pid"; wait "$pid" || true
  echo "$((n + 1)) $(awk '/^summary:/{print $2}' "$work/cg.out")"
}

printf '| mode | instructions per request |\n|---|---|\n'
for mode in bare default; do
  flags=()
  [ "$mode" = bare ] && flags=(--set app.middleware=false --set log.level=warn)
  [ "$mode" = default ] && flags=(--set log.level=info)
  read -r n1 i1 < <(run "${SHORT:-2}" "${flags[@]}")
  read -r n2 i2 < <(run "${LONG:-6}" "${flags[@]}")
  awk -v m="$mode" -v n="$((n2 - n1))" -v i="$((i2 - i1))" 'BEGIN { printf "| %s | %.0f |\n", m, i / n }'
done
