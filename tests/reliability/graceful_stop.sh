#!/usr/bin/env bash
# Graceful stop under load (docs/reliability.md): hello, user-svc and the gateway (in front of hello)
# each get SIGTERM while 32 keep-alive connections send requests in a loop; tests/reliability/stop_load.py
# checks that every request the service accepted was answered, that readiness turned unready first,
# and that the process exited within its grace time. app.shutdown_delay 0 s and 1 s alike.
# usage: graceful_stop.sh BUILD_DIR SRC_DIR [CONNS]
set -euo pipefail
build=$1 src=$2 conns=${3:-32}
PY=/usr/bin/python3
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
common=(--config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 --set log.level=error
        --set discovery.backend=static)

start() {  # name binary args... → svc_url, admin_url, pid
  local name=$1 bin=$2
  shift 2
  : >"$tmp/$name.err"
  "$bin" "${common[@]}" "$@" >/dev/null 2>"$tmp/$name.err" &
  pid=$!
  pids+=($pid)
  wait_service "$tmp/$name.err" "$name"
  for _ in $(seq 100); do curl -sf -o /dev/null "$admin_url/readyz" && break; sleep 0.05; done
}

for delay in 0 1; do
  start hello "$build/cmd/hello/hello" --set app.shutdown_delay=${delay}s
  $PY tests/reliability/stop_load.py "$pid" "${svc_url#http://}" /hello "$admin_url" "$conns" 15 $delay
  wait "$pid" 2>/dev/null || true

  start user-svc "$build/cmd/user-svc/user-svc" --set app.shutdown_delay=${delay}s --set db.sqlite.path="$tmp/user-$delay.db"
  $PY tests/reliability/stop_load.py "$pid" "${svc_url#http://}" "/v1/users?limit=5" "$admin_url" "$conns" 15 $delay
  wait "$pid" 2>/dev/null || true
done

# The gateway in front of hello: the gateway stops; hello keeps serving.
start hello "$build/cmd/hello/hello"
hello_url=$svc_url
hello_pid=$pid
cat >"$tmp/routes.yaml" <<YAML
routes:
  - name: hello
    path: /hello
    upstream: [$hello_url]
YAML
for delay in 0 1; do
  start gateway "$build/cmd/gateway/gateway" --set app.shutdown_delay=${delay}s --set gateway.routes_file="$tmp/routes.yaml"
  $PY tests/reliability/stop_load.py "$pid" "${svc_url#http://}" /hello "$admin_url" "$conns" 15 $delay
  wait "$pid" 2>/dev/null || true
done
kill -TERM "$hello_pid"
wait "$hello_pid" 2>/dev/null || true
echo "graceful stop: ok"
