#!/usr/bin/env bash
# gRPC race: svckit's gRPC server (inside an App, all observation on) serving the echo service as a
# svckit::grpc::Service ("svckit": svckit's own dispatch) and as grpc++'s generated CallbackService
# ("generated": observed through grpc++'s interceptor hooks), against the same service on bare grpc++
# ("raw"), on grpc++ with one no-op interceptor ("noop": the price of grpc++'s interceptor machinery
# alone), and against gRPC-Go built offline from Debian's golang-google-grpc-dev
# (GOPATH mode). One client (echo_load, grpc++) drives all of them, pinned: server on core 0, client
# on core 1; rounds interleave the servers so that drift on a shared VM hits them alike.
# usage: bench/grpc/run.sh BUILD_DIR     (make bench-grpc)     knobs: ROUNDS (3), DURATION (8), SERVERS, INSTR (1), OUT
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/bench/grpc
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8}
OUT=${OUT:-/tmp/svckit-bench-grpc/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/go"

# gRPC-Go, from Debian's Go sources only (GOPROXY=off).
GOCACHE=${GOCACHE:-/tmp/svckit-bench-grpc/gocache} bash "$src/bench/grpc/build_go_peer.sh" "$OUT/go"

pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null || true' EXIT
start() {  # $1 server name; sets pid and port
  port=$((9400 + RANDOM % 500))
  case $1 in
    svckit|generated) taskset -c 0 "$bin/echo_server" $1 --config-dir "$src/configs" --set grpc.host=127.0.0.1 \
              --set grpc.port=$port --set http.port=0 --set admin.port=0 --set log.output="$OUT/svckit-calls.log" \
              >/dev/null 2>"$OUT/server.err" & ;;
    raw|noop) taskset -c 0 "$bin/echo_server" "$1" $port >/dev/null 2>"$OUT/server.err" & ;;
    go) taskset -c 0 "$OUT/go/echo-server" -port $port >"$OUT/server.err" 2>&1 & ;;  # it prints to stdout
  esac
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$OUT/server.err" 2>/dev/null && return; sleep 0.05; done
  echo "$1 did not start:" >&2; cat "$OUT/server.err" >&2; exit 1
}
stop() { kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; pid=; rm -f "$OUT/svckit-calls.log"; }

scenarios=("stream --streams 64 --window 1" "stream --streams 64 --window 16" "unary --streams 64")
: > "$OUT/results.txt"
for r in $(seq 1 "$ROUNDS"); do
  for server in ${SERVERS:-svckit generated raw noop go}; do
    start $server
    for sc in "${scenarios[@]}"; do
      # shellcheck disable=SC2086
      set -- $sc
      mode=$1; shift
      line=$(taskset -c 1 "$bin/echo_load" "$mode" 127.0.0.1:$port "$@" --seconds "$DURATION" --warmup 2 \
               --server-pid $pid 2>&1 | tail -1) || true
      # A server that died or answered nothing is named with its own output, never averaged in.
      if ! kill -0 $pid 2>/dev/null || ! grep -qE 'rate=[0-9]*[1-9]' <<<"$line"; then
        echo "bench-grpc: server '$server' failed in '$sc' (client: ${line:-no output}); its output:" >&2
        tail -20 "$OUT/server.err" >&2
        exit 1
      fi
      echo "round=$r server=$server $line" | tee -a "$OUT/results.txt"
    done
    stop
  done
done

/usr/bin/python3 - "$OUT/results.txt" <<'PY' | tee "$OUT/table.md"
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    if 'rate' not in kv:
        continue
    key = (f"{kv['mode']} w={kv['window']}", kv['server'])
    rows.setdefault(key, []).append(kv)
def med(key, field):
    return statistics.median(float(x[field]) for x in rows[key])
def ratio(a, b):
    return f"{a / b:.2f}×" if b else "n/a"
print("| scenario | server | msgs/s | p50 µs | p99 µs | server CPU µs/msg | CPU vs raw grpc++ | msgs/s vs Go | CPU vs Go |")
print("|---|---|---|---|---|---|---|---|---|")
for sc in sorted({k[0] for k in rows}):
    for server in ("svckit", "generated", "raw", "noop", "go"):
        k = (sc, server)
        if k not in rows:
            continue
        cpu, rate = med(k, 'server_cpu_us'), med(k, 'rate')
        vs_raw = ratio(cpu, med((sc, 'raw'), 'server_cpu_us')) if (sc, 'raw') in rows else "n/a"
        go_rate = ratio(rate, med((sc, 'go'), 'rate')) if (sc, 'go') in rows else "n/a"
        go_cpu = ratio(cpu, med((sc, 'go'), 'server_cpu_us')) if (sc, 'go') in rows else "n/a"
        print(f"| {sc} | {server} | {rate:.0f} | {med(k,'p50_us'):.0f} | {med(k,'p99_us'):.0f} | {cpu:.2f} | {vs_raw} | {go_rate} | {go_cpu} |")
PY
# Instructions per message under callgrind (grpc++ servers only): deterministic where CPU time on a
# shared VM is not, and it isolates user-space work (the kernel's share is the same for all three).
if [ "${INSTR:-1}" = 1 ] && command -v valgrind >/dev/null; then
  echo "| server | unary instr/call | stream instr/msg |" > "$OUT/instructions.md"
  echo "|---|---|---|" >> "$OUT/instructions.md"
  for server in raw noop svckit generated; do
    row="| $server"
    # A fresh server per mode: work left over from one mode (the log sink draining, spans ending) must
    # not land in the next one's window.
    for mode in unary stream; do
      port=$((9900 + RANDOM % 90))
      case $server in
        svckit|generated) cmd=("$bin/echo_server" $server --config-dir "$src/configs" --set grpc.host=127.0.0.1
                     --set grpc.port=$port --set http.port=0 --set admin.port=0 --set log.output="$OUT/svckit-calls.log") ;;
        *) cmd=("$bin/echo_server" $server $port) ;;
      esac
      : > "$OUT/server.err"
      valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.%p" "${cmd[@]}" >/dev/null 2>"$OUT/server.err" &
      pid=$!
      for _ in $(seq 300); do grep -q "listening on" "$OUT/server.err" && break; sleep 0.2; done
      taskset -c 1 "$bin/echo_load" $mode 127.0.0.1:$port --seconds 10 --warmup 3 > "$OUT/cg-load.txt" &
      lpid=$!
      sleep 3
      callgrind_control -z $pid >/dev/null
      wait $lpid
      callgrind_control -d $pid >/dev/null
      msgs=$(grep -o 'msgs=[0-9]*' "$OUT/cg-load.txt" | cut -d= -f2 || true)
      if [ -z "$msgs" ] || [ "$msgs" -eq 0 ]; then
        echo "bench-grpc: server '$server' answered nothing under callgrind ($mode); its output:" >&2
        tail -20 "$OUT/server.err" >&2
        exit 1
      fi
      ins=$(grep '^summary' "$(ls -t "$OUT"/callgrind.$pid.* | head -1)" | awk '{print $2}')
      row="$row | $((ins / msgs))"
      stop
    done
    echo "$row |" >> "$OUT/instructions.md"
  done
  cat "$OUT/instructions.md"
fi
echo "results in $OUT"
