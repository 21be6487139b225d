#!/usr/bin/env bash
# Overload (docs/reliability.md): user-svc (one worker loop, SQLite) listing 100 users a request
# (GET /v1/users?limit=100, 45 KB answers). Its capacity is measured first (closed loop, 32 clients),
# then an open-loop client (tests/reliability/openloop, Go) offers 2x and 5x that rate, each followed
# by a light load (200 req/s) to see how soon the service is back to normal. Shedding is the
# resilience.max_in_flight bulkhead (16: fast 503 + Retry-After beyond it); SHED=0 runs without it.
# The rules the test holds: the service stays up; at 2x every request is answered (200, or 503/429
# with Retry-After: no timeout, no reset); latency is back to its unloaded level within 2 s after the
# load drops; memory stays under 256 MiB. The admitted p99 against the unloaded one is printed
# (docs/reliability.md says where it stands).
# usage: overload.sh BUILD_DIR SRC_DIR [SECONDS]   (per level: 8 by default; make chaos: 60)
set -euo pipefail
build=$1 src=$2 secs=${3:-8}
shed=${SHED:-16}
# The loop's queueing delay the queue shedder holds (resilience.shed_queue_delay); off without shedding.
queue_delay=${QUEUE_DELAY:-5ms}
[ "$shed" = 0 ] && queue_delay=0
PY=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  set +e
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ $rc -eq 0 ] || { echo "--- user-svc stderr"; tail -5 "$tmp/err"; }
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"
cd "$src"
ulimit -n 65536 2>/dev/null || true
failures=()
fail() { echo "FAIL: $*"; failures+=("$*"); }  # every level is measured; the verdict comes at the end
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# The load generator: Go's standard library only, built offline.
(cd tests/reliability/openloop && GO111MODULE=off GOPATH="$tmp/gopath" GOCACHE="${XDG_CACHE_HOME:-$HOME/.cache}/svckit-openloop" \
  GOPROXY=off GOFLAGS= GOTOOLCHAIN=local go build -o "$tmp/openloop" .)
OL=$tmp/openloop

"$build/cmd/user-svc/user-svc" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
  --set log.level=warn --set discovery.backend=static --set http.access_log=false --set db.sqlite.path="$tmp/user.db" \
  --set app.workers=1 --set resilience.max_in_flight=$shed --set resilience.shed_queue_delay=$queue_delay >/dev/null 2>"$tmp/err" &
pid=$!
pids+=($pid)
wait_service "$tmp/err" user-svc
$PY - "$svc_url" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
for i in range(100):
    c.request("POST", "/v1/users", json.dumps({"email": f"o{i}@example.com", "name": f"User {i}", "profile": {"bio": "y" * 300}}),
              {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY
url="$svc_url/v1/users?limit=100"
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }

$OL open "$url" 200 2 >/dev/null  # warm
r=$($OL open "$url" 200 3)
p99_0=$(val ok_p99_ms "$r")
echo "unloaded (200 req/s, 3 s): $r"
r=$($OL closed "$url" 32 4)
cap=$(val ok_per_s "$r")
echo "capacity (closed loop, 32 clients, 4 s): $cap req/s; $r"
normal=$(awk -v p="$p99_0" 'BEGIN { l = 2 * p; print (l < 10 ? 10 : l) }')  # "normal": 2x the unloaded p99, 10 ms at least

for mult in 2 5; do
  rate=$((cap * mult))
  rss0=$(rss)
  peak=$rss0
  $OL open "$url" $rate "$secs" >"$tmp/load" &
  load=$!
  while kill -0 $load 2>/dev/null; do m=$(rss); [ "$m" -gt "$peak" ] && peak=$m; sleep 0.2; done
  wait $load
  r=$(head -1 "$tmp/load")
  kill -0 "$pid" || { echo "FAIL: user-svc died at ${mult}x"; exit 1; }
  # Right after: a light load in 250 ms buckets; back to normal at the first bucket from which four
  # in a row (1 s) are normal (one slow bucket later is the shared machine, not the overload).
  after=$($OL open "$url" 200 4 250 | tail -1)
  recovered=$(awk -v n="$normal" -F'[=,]' '{
    nb = 0
    for (i = 2; i < NF; i++) { split($i, b, "/"); bad[nb++] = (b[1] > n || b[2] > 0) }
    r = -1
    for (i = 0; i + 3 < nb && r < 0; i++) if (!bad[i] && !bad[i + 1] && !bad[i + 2] && !bad[i + 3]) r = i
    printf "%.2f", r < 0 ? 99 : r * 0.25 }' <<<"$after")
  echo "${mult}x ($rate req/s offered, $secs s): $r"
  echo "  RSS ${rss0} -> peak ${peak} MiB; back to normal (p99 <= $normal ms, no failure) after ${recovered} s; light load after: $after"
  admitted_ratio=$(awk -v a="$(val ok_p99_ms "$r")" -v b="$p99_0" 'BEGIN { printf "%.1f", a / b }')
  echo "  admitted p99 $(val ok_p99_ms "$r") ms = ${admitted_ratio}x the unloaded p99 ($p99_0 ms); shed p99 $(val shed_p99_ms "$r") ms"
  [ "$(val shed "$r")" = "$(val shed_with_retry_after "$r")" ] || fail "${mult}x: a shed answer without Retry-After"
  if [ $mult = 2 ]; then
    [ "$(val errors "$r")" = 0 ] || fail "2x: $(val errors "$r") requests neither answered nor shed (timeouts, resets)"
    [ "$(val shed "$r")" -gt 0 ] || fail "2x: nothing was shed"
  fi
  le "$recovered" 2 || fail "${mult}x: not back to normal within 2 s after the load dropped"
  [ "$peak" -le 256 ] || fail "${mult}x: RSS peaked at $peak MiB (bound: 256)"
done
[ ${#failures[@]} -eq 0 ] || { echo "overload: ${#failures[@]} rules broken"; exit 1; }
echo "overload: ok"
