#!/usr/bin/env bash
# A full disk (docs/reliability.md), on size-limited tmpfs filesystems mounted here (root needed; exit 77,
# a skip, where mounting is not permitted):
# - user-svc with its SQLite database on a 2 MiB filesystem, filled up: writes fail with 503,
#   RESOURCE_EXHAUSTED / DISK_FULL and Retry-After; reads keep working; the process keeps serving; writes
#   succeed again once space is freed.
# - hello logging every request (access log) to a file on a full filesystem, with the synchronous sink
#   and the asynchronous one: every request is answered at its usual latency (a normal client's p99),
#   the lost lines are counted (svckit_log_dropped_total), and the log says how many were lost once
#   space returns.
# usage: disk_full.sh BUILD_DIR SRC_DIR [SECONDS]   (SECONDS: how long the log stays full, 5 by default)
set -euo pipefail
build=$1 src=$2 full_s=${3:-5}
PY=/usr/bin/python3
H="$PY $src/tests/reliability/hostile.py"
tmp=$(mktemp -d)
pids=()
mounts=()
cleanup() {
  rc=$?
  set +e
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ $rc -eq 0 ] || [ $rc -eq 77 ] || { for f in "$tmp"/*.err; do echo "--- $f"; tail -5 "$f"; done; }
  for m in "${mounts[@]}"; do umount "$m"; done
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"
cd "$src"

mount_small() {  # dir size
  mkdir -p "$1"
  if ! mount -t tmpfs -o size="$2" tmpfs "$1" 2>"$tmp/mount.err"; then
    echo "disk full: cannot mount a size-limited tmpfs here ($(cat "$tmp/mount.err")); skipped"
    exit 77
  fi
  mounts+=("$1")
}
fill() { dd if=/dev/zero of="$1/filler" bs=16k 2>/dev/null || true; }  # until ENOSPC
now() { date +%s.%N; }
fail() { echo "FAIL: $*"; exit 1; }
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
common=(--config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0
        --set discovery.backend=static)
start() {  # name binary args... → svc_url, admin_url, pid
  local name=$1 bin=$2
  shift 2
  : >"$tmp/$name.err"
  "$bin" "${common[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=($pid)
  wait_service "$tmp/$name.err" "$name"
  for _ in $(seq 100); do curl -sf -o /dev/null "$admin_url/readyz" && break; sleep 0.05; done
}
post_user() {  # n → the status; the body in $tmp/post
  curl -s -o "$tmp/post" -D "$tmp/post.h" -w '%{http_code}' -X POST "$svc_url/v1/users" -H 'Content-Type: application/json' \
    -d "{\"email\":\"u$1.$RANDOM@example.com\",\"name\":\"User $1\",\"profile\":{\"bio\":\"$(head -c 1000 /dev/zero | tr '\0' x)\"}}"
}

# ---- the database's disk ----
mount_small "$tmp/db" 2m
start user-svc "$build/cmd/user-svc/user-svc" --set db.sqlite.path="$tmp/db/user.db" --set log.level=warn
code=$(post_user 0)
[ "$code" = 201 ] || fail "user-svc does not take writes before the disk is full: $code $(cat "$tmp/post")"
first_id=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/post")
fill "$tmp/db"
echo "database filesystem full: $(df -h --output=used,size "$tmp/db" | tail -1)"
# Writes land in pages SQLite already has until it needs a new one: write until the first refusal.
n=0 code=201
while [ "$code" = 201 ] && [ $n -lt 3000 ]; do n=$((n + 1)); code=$(post_user $n); done
echo "writes accepted after the disk filled: $((n - 1)); then $code $(cat "$tmp/post")"
[ "$code" = 503 ] || fail "a write on a full disk answered $code, not 503"
grep -q '"code":"RESOURCE_EXHAUSTED"' "$tmp/post" || fail "the 503 does not say RESOURCE_EXHAUSTED"
grep -q 'DISK_FULL' "$tmp/post" || fail "the 503 does not say DISK_FULL"
grep -qi '^retry-after:' "$tmp/post.h" || fail "the 503 has no Retry-After"
refused=0
t0=$(now)
for i in $(seq 20); do [ "$(post_user x$i)" = 503 ] && refused=$((refused + 1)); done
t1=$(now)
echo "20 more writes: $refused refused with 503 in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 / 20 }') ms each"
[ $refused = 20 ] || fail "writes on the full disk did not all fail with 503"
code=$(curl -s -o /dev/null -w '%{http_code}' "$svc_url/v1/users/$first_id")
[ "$code" = 200 ] || fail "a read on the full disk answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$svc_url/v1/users?limit=20")
[ "$code" = 200 ] || fail "a list on the full disk answered $code"
echo "reads on the full disk: 200"
kill -0 "$pid" || fail "user-svc died on the full disk"
rm -f "$tmp/db/filler"
code=$(post_user again)
[ "$code" = 201 ] || fail "a write after space returned answered $code"
echo "space freed: writes 201 again"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
$PY -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0]; print("integrity_check:", r); sys.exit(r != "ok")' "$tmp/db/user.db" \
  || fail "the database is damaged"

# ---- the log's disk ----
mount_small "$tmp/log" 1m
for async in false true; do
  rm -f "$tmp/log/"*
  start hello "$build/cmd/hello/hello" --set log.output="$tmp/log/hello.log" --set log.level=info --set log.async=$async \
    --set http.access_log=true
  addr=${svc_url#http://}
  $H probe "$addr" /hello "$tmp/probe" $((full_s + 6)) &
  probe=$!
  pids+=($probe)
  sleep 2
  t_full=$(now)
  fill "$tmp/log"
  sleep "$full_s"
  t_free=$(now)
  before=$($H p99 "$tmp/probe" 0 "$t_full")
  during=$($H p99 "$tmp/probe" "$t_full" "$t_free")
  dropped=$(curl -s "$admin_url/metrics" | awk '/^svckit_log_dropped_total/ {print $2}')
  rm -f "$tmp/log/filler"
  wait $probe
  after=$($H p99 "$tmp/probe" "$(awk -v t="$t_free" 'BEGIN { printf "%.3f", t + 0.5 }')" 1e10)
  echo "log file full, log.async=$async: before: $before"
  echo "  during ($full_s s full): $during; lines dropped: $dropped"
  echo "  after: $after"
  [ "$(val errors "$during")" = 0 ] || fail "requests failed while the log disk was full"
  [ "$(val samples "$during")" -gt $((full_s * 50)) ] || fail "too few requests answered while the log disk was full"
  limit=$(awk -v p="$(val p99_ms "$before")" 'BEGIN { l = 10 * p; print (l < 50 ? 50 : l) }')
  le "$(val p99_ms "$during")" "$limit" || fail "p99 while the log disk was full is over $limit ms"
  [ "${dropped%.*}" -gt 0 ] 2>/dev/null || fail "no dropped lines counted (svckit_log_dropped_total: $dropped)"
  for _ in $(seq 50); do grep -q 'log lines lost' "$tmp/log/hello.log" && break; sleep 0.1; done
  lost=$(grep -o '"msg":"log lines lost[^}]*' "$tmp/log/hello.log" | head -1)
  [ -n "$lost" ] || fail "the log does not say that lines were lost"
  echo "  the log once space returned: $lost"
  # A line the full disk cut short stays as a fragment, ended before the report of the loss.
  $PY -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
bad = 0
for i, line in enumerate(lines):
    try:
        json.loads(line)
    except ValueError:
        if i + 1 < len(lines) and "log lines lost" in lines[i + 1]:
            continue
        bad += 1
        print("not JSON:", repr(line[:100]), "...", repr(line[-100:]), file=sys.stderr)
sys.exit(bad > 0)' "$tmp/log/hello.log" || fail "the log has lines that are not JSON"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
done
echo "disk full: ok"
