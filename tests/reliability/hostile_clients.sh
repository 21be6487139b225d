#!/usr/bin/env bash
# Slow and hostile clients (docs/reliability.md): hello, and the gateway in front of hello, each face
# slowloris heads, slow bodies, readers that never read their answers, 10,000 idle connections and a
# connection flood, one after the other, while a normal client (tests/reliability/hostile.py probe)
# sends one request every 5 ms throughout. Each hostile kind must be ended by its documented bound
# (http.header_timeout, http.body_timeout, http.write_timeout, http.max_connections, http.idle_timeout),
# the normal client must get every answer, and the server's memory must stay bounded. The services
# start with the soft open-files limit most hosts give (1024): holding 10,000 connections needs the
# server to raise it.
# usage: hostile_clients.sh BUILD_DIR SRC_DIR [long]   (long: the bounds at their defaults, more clients)
set -euo pipefail
build=$1 src=$2 form=${3:-short}
PY=/usr/bin/python3
H="$PY $src/tests/reliability/hostile.py"
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  set +e
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ $rc -eq 0 ] || { for f in "$tmp"/*.err; do echo "--- $f"; tail -5 "$f"; done; }
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"
cd "$src"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # the clients' side holds 10,000 sockets

if [ "$form" = long ]; then
  header=10 body=30 write=30 idle=60 maxconn=10000 idle_conns=10000 n=500 flood_s=30
else
  header=1 body=1 write=1 idle=5 maxconn=5000 idle_conns=10000 n=100 flood_s=4
fi
limits=(--set http.header_timeout=${header}s --set http.body_timeout=${body}s --set http.write_timeout=${write}s
        --set http.idle_timeout=${idle}s --set http.max_connections=$maxconn)
common=(--config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 --set log.level=warn
        --set discovery.backend=static --set http.access_log=false)

start() {  # name binary args... → svc_url, admin_url, pid
  local name=$1 bin=$2
  shift 2
  : >"$tmp/$name.err"
  (ulimit -Sn 1024 && exec "$bin" "${common[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err") &
  pid=$!
  pids+=($pid)
  wait_service "$tmp/$name.err" "$name"
  for _ in $(seq 100); do curl -sf -o /dev/null "$admin_url/readyz" && break; sleep 0.05; done
}

rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$1/status"; }
now() { date +%s.%N; }
fail() { echo "FAIL $target: $*"; exit 1; }
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }  # key line
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# The normal client's p99 over [from, to) must stay near its p99 before, with no failed request.
check_probe() {  # phase from to
  local r
  r=$($H p99 "$tmp/probe" "$2" "$3")
  echo "  normal client during $1: $r"
  [ "$(val errors "$r")" = 0 ] || fail "the normal client saw failed requests during $1"
  le "$(val p99_ms "$r")" "$p99_limit" || fail "the normal client's p99 during $1 is over $p99_limit ms"
}

run_target() {  # target addr pid slowread-path slowread-pipelined
  target=$1
  local addr=$2 spid=$3 sr_path=$4 sr_count=$5 t0 t1 r rss0
  echo "== $target (header_timeout ${header}s, body_timeout ${body}s, write_timeout ${write}s, idle_timeout ${idle}s, max_connections $maxconn)"
  local total=$((flood_s + 4 * header + 4 * body + 4 * write + 2 * idle + 60))
  $H probe "$addr" /hello "$tmp/probe" $total &
  local probe=$!
  pids+=($probe)
  sleep 2
  rss0=$(rss "$spid")
  r=$($H p99 "$tmp/probe" 0 "$(now)")
  echo "  normal client before: $r; server RSS ${rss0} MiB"
  # Loose enough for two shared cores with the hostile clients on them; a server that blocks or stalls
  # on them misses it by seconds.
  p99_limit=$(awk -v p="$(val p99_ms "$r")" 'BEGIN { l = 20 * p; print (l < 150 ? 150 : l) }')

  t0=$(now)
  r=$($H slowloris "$addr" /hello $n 0.2 $((header + 5)))
  t1=$(now)
  echo "  $r"
  [ "$(val closed_by_server "$r")" = $n ] || fail "slowloris connections left open past $((header + 5)) s"
  le "$(val closed_after_max_s "$r")" "$header.9" || fail "slowloris closed later than header_timeout + 0.9 s"
  [ "$(val status_408 "$r")" = $n ] || fail "slowloris connections did not all get 408"
  check_probe slowloris "$t0" "$t1"

  t0=$(now)
  r=$($H slowbody "$addr" /hello $n 0.2 $((body + 5)))
  t1=$(now)
  echo "  $r"
  [ "$(val closed_by_server "$r")" = $n ] || fail "slow bodies left open past $((body + 5)) s"
  le "$(val closed_after_max_s "$r")" "$body.9" || fail "slow bodies closed later than body_timeout + 0.9 s"
  [ "$(val status_408 "$r")" = $n ] || fail "slow bodies did not all get 408"
  check_probe slowbody "$t0" "$t1"

  t0=$(now)
  local peak=0
  $H slowread "$addr" "$sr_path" $((n / 5)) "$sr_count" $((write + 20)) >"$tmp/slowread" &
  local sr=$!
  while kill -0 $sr 2>/dev/null; do
    local m
    m=$(rss "$spid")
    [ "$m" -gt "$peak" ] && peak=$m
    sleep 0.2
  done
  wait $sr
  t1=$(now)
  r=$(cat "$tmp/slowread")
  echo "  $r; server RSS peak ${peak} MiB"
  [ "$(val dropped_by_server "$r")" = $((n / 5)) ] || fail "readers that never read were not all dropped within $((write + 20)) s"
  [ $((peak - rss0)) -le 64 ] || fail "server memory grew by $((peak - rss0)) MiB under slow readers (bound: 64)"
  check_probe slowread "$t0" "$t1"

  t0=$(now)
  $H idle "$addr" $idle_conns $((idle + 10)) >"$tmp/idle" &
  local ic=$!
  local held_peak=0
  while kill -0 $ic 2>/dev/null; do
    local m
    m=$(rss "$spid")
    [ "$m" -gt "$held_peak" ] && held_peak=$m
    sleep 0.2
  done
  wait $ic
  t1=$(now)
  sed 's/^/  /' "$tmp/idle"
  echo "  server RSS with the idle connections: ${held_peak} MiB"
  r=$(cat "$tmp/idle" | tr '\n' ' ')
  local held refused
  held=$(val held "$r") refused=$(val refused_503 "$r")
  [ "$(val connect_failed "$r")" = 0 ] || fail "idle connections could not connect"
  [ $((held + refused)) = $idle_conns ] || fail "idle connections neither held nor refused: $((idle_conns - held - refused))"
  [ "$held" -le $maxconn ] || fail "held $held connections, more than max_connections $maxconn"
  [ "$held" -ge $((maxconn * 9 / 10)) ] || [ $idle_conns -lt $maxconn ] || fail "held only $held of max_connections $maxconn"
  [ "$(val refused_with_retry_after "$r")" = "$refused" ] || fail "a refused connection had no Retry-After"
  [ "$(val closed_by_server "$r")" = "$held" ] || fail "idle connections not closed by the idle timeout"
  le "$(val closed_after_max_s "$r")" "$idle.9" || fail "idle connections closed later than idle_timeout + 0.9 s"
  le "$((idle - 1))" "$(val closed_after_min_s "$r")" || fail "idle connections closed before their idle_timeout"
  check_probe idle "$t0" "$t1"

  t0=$(now)
  r=$($H flood "$addr" $flood_s)
  t1=$(now)
  echo "  $r"
  check_probe flood "$t0" "$t1"
  sleep 1
  r=$($H p99 "$tmp/probe" "$t1" "$(now)")
  echo "  normal client after: $r; server RSS $(rss "$spid") MiB"
  [ "$(val errors "$r")" = 0 ] && [ "$(val samples "$r")" != 0 ] || fail "not answering after the flood"
  kill $probe 2>/dev/null || true
  wait $probe 2>/dev/null || true
  grep -h '"level":"\(error\|fatal\)"' "$tmp"/*.out | head -3 | sed 's/^/  logged: /' || true
}

start hello "$build/cmd/hello/hello" "${limits[@]}"
hello_url=$svc_url hello_pid=$pid hello_admin=$admin_url
# The slow readers pipeline requests until the server's socket buffers are full (about 4 MiB).
run_target hello "${hello_url#http://}" "$hello_pid" /hello 40000

cat >"$tmp/routes.yaml" <<YAML
routes:
  - name: hello
    path: /hello
    upstream: [$hello_url]
  - name: metrics  # a larger answer (7 KB): hello's metrics, for the slow readers
    path: /metrics
    upstream: [$hello_admin]
YAML
start gateway "$build/cmd/gateway/gateway" "${limits[@]}" --set gateway.routes_file="$tmp/routes.yaml"
run_target "gateway -> hello" "${svc_url#http://}" "$pid" /metrics 2000
echo "hostile clients: ok"
