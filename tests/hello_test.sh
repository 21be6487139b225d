#!/usr/bin/env bash
# The hello binary as an operator meets it: JSON logs, config errors refuse start, SIGTERM drains,
# a config edit changes the log level without a restart.
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
trap 'rc=$?; kill $pid 2>/dev/null || true; [ $rc -eq 0 ] || cat "$tmp/out" "$tmp/err" 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
cp -r "$src/configs" "$tmp/configs"

# Broken config: refuses to start with a clear message and exit code 2.
set +e
"$bin" --config-dir "$tmp/configs" --set log.level=loud 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 2 ] || { echo "expected exit 2, got $rc"; exit 1; }
grep -q 'log.level: "loud" is not one of' "$tmp/err" || { cat "$tmp/err"; exit 1; }

# --print-config redacts secrets.
SVCKIT_LOG_OUTPUT=stdout "$bin" --config-dir "$tmp/configs" --print-config | grep -q 'log.output = stdout .*# env SVCKIT_LOG_OUTPUT'

# Runs, logs JSON, follows a hot level change, stops on SIGTERM.
"$bin" --config-dir "$tmp/configs" --set log.async=false >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'hello service started' "$tmp/out" && break; sleep 0.05; done
grep -q '"msg":"hello service started"' "$tmp/out"
/usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$tmp/out"
printf 'log:\n  level: error\n' > "$tmp/configs/dev/log.yaml.new" && mv "$tmp/configs/dev/log.yaml.new" "$tmp/configs/dev/log.yaml"
for _ in $(seq 100); do grep -q '"msg":"config reloaded"' "$tmp/out" && break; sleep 0.05; done
grep -q '"msg":"config reloaded"' "$tmp/out"
kill -TERM $pid
wait $pid
pid=
# At level error the info lines written during the stop must be gone: the reload took effect.
if grep -q '"msg":"stopping: draining"' "$tmp/out"; then echo "level change did not apply"; cat "$tmp/out"; exit 1; fi
echo "hello test: ok"
