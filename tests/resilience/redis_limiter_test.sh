#!/usr/bin/env bash
# The cluster-wide limiter against a real Redis (Debian's redis-server, 127.0.0.1, a free port, a temp
# folder): two processes share one 200/s budget; with Redis stopped each falls back to its local share
# (80/s) and returns to the shared bucket when Redis is back.
set -euo pipefail
probe=$1
tmp=$(mktemp -d)
rpid=
cleanup() { [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
command -v redis-server >/dev/null || { echo "redis-server not installed (make test installs it)"; exit 1; }
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start_redis() {
  redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no --daemonize no >"$tmp/redis.log" 2>&1 &
  rpid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return; sleep 0.05; done
  echo "redis did not start"; cat "$tmp/redis.log"; exit 1
}
start_redis

# 1. Two processes, one budget: 200/s + 100 burst over 4 s ≈ 900 in all, not 1,800.
"$probe" "$port" 200 100 80 4 > "$tmp/a" &
a=$!
"$probe" "$port" 200 100 80 4 > "$tmp/b" &
b=$!
wait $a $b
ta=$(sed -n 's/^total //p' "$tmp/a"); tb=$(sed -n 's/^total //p' "$tmp/b")
sum=$((ta + tb))
echo "shared budget: $ta + $tb = $sum (expected about 900)"
[ "$sum" -ge 700 ] && [ "$sum" -le 1000 ] || { echo "the two processes did not share the budget"; exit 1; }
# Both make progress (the split between them depends on start-up timing and is not a contract).
[ "$ta" -ge 50 ] && [ "$tb" -ge 50 ] || { echo "a process got (almost) nothing: $ta, $tb"; exit 1; }

# 2. Redis goes away for 2 s and comes back: fallback to the local share, then the shared bucket again.
redis-cli -p "$port" del svckit:test >/dev/null
"$probe" "$port" 200 100 80 7 > "$tmp/c" &
c=$!
sleep 2
kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=
sleep 2
start_redis
wait $c
cat "$tmp/c"
grep -q 'degraded 1' "$tmp/c" || { echo "no fallback while Redis was away"; exit 1; }
last=$(grep '^second 6 ' "$tmp/c")
[[ "$last" == *"degraded 0"* ]] || { echo "not back on Redis at the end: $last"; exit 1; }
# Second 3 lies wholly inside the outage: on the fallback, at about the local share (80/s).
read -r _ _ _ ok _ d < <(grep '^second 3 ' "$tmp/c")
[ "$d" = 1 ] && [ "$ok" -le 130 ] && [ "$ok" -ge 40 ] || { echo "during the outage: $ok with degraded=$d"; exit 1; }
echo "redis limiter test: ok"
