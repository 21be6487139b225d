#!/usr/bin/env bash
# The admin console in a real browser: console-demo runs with a traffic generator against it, and
# headless Chromium (Debian's, driven by playwright-core from npm) goes through every view
# (console.mjs). Screenshots land in ./screenshots of the test's working directory (build/).
# usage: console_test.sh CONSOLE_DEMO_BINARY SOURCE_DIR
set -euo pipefail
bin=$1 src=$2
out=$PWD/screenshots
tmp=$(mktemp -d)
pid= load=
cleanup() {
  rc=$?
  [ -n "$load" ] && kill "$load" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ $rc -eq 0 ] || { echo "--- service stderr"; cat "$tmp/err"; echo "--- last service lines"; tail -20 "$tmp/out"; } 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
command -v chromium >/dev/null || { echo "chromium is missing: scripts/deps.sh test"; exit 1; }
SVCKIT_BROWSER_MODULES=$(bash "$src/tests/browser/npm_tools.sh")
export SVCKIT_BROWSER_MODULES

mkdir -p "$tmp/configs"
cat > "$tmp/configs/base.yaml" <<YAML
log: {level: info, format: json, output: stdout, async: false}
http: {host: 127.0.0.1, port: 0}
admin: {port: 0}
trace: {recent_spans: 20000}
resilience: {shed: true, rate_limit: true, rate: 1000, burst: 2000, max_in_flight: 500,
             routes: [{method: GET, route: /hello, rate: 5, burst: 5}]}
YAML
"$bin" --config-dir "$tmp/configs" >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait_service "$tmp/err" console-demo

# Traffic: about 40 requests a second for at most 3 minutes (orders with nested spans and a flaky
# dependency behind a breaker, quick hellos, a route that fails), one connection per batch.
(
  end=$((SECONDS + 180))
  i=0
  while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
      "$svc_url/orders/$i" "$svc_url/hello" "$svc_url/orders/$((i + 1001))" "$svc_url/fail" || true
    sleep 0.1
  done
) &
load=$!

rm -rf "$out"
node "$src/tests/console/console.mjs" "$admin_url" "$tmp/out" "$out"
