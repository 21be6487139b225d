#!/usr/bin/env bash
# hello exports its spans over OTLP/HTTP (JSON, gzip) to a stand-in collector that refuses the first
# batch with 503: the exporter retries, the accepted payload passes the OpenTelemetry protobuf schema
# check, carries the caller's trace id, and the same trace id is in the access log and /debug/traces.
set -euo pipefail
bin=$1 src=$2
PY=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ $rc -eq 0 ] || { echo "--- hello stdout"; tail -5 "$tmp/out"; echo "--- stderr"; tail -5 "$tmp/err"; }
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/got"
$PY "$src/tests/trace/otlp_collector.py" "$tmp/got" --fail-first > "$tmp/collector.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/collector.port" ] && break; sleep 0.05; done
cport=$(cat "$tmp/collector.port")

cp -r "$src/configs" "$tmp/configs"
"$bin" --config-dir "$tmp/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 --set log.async=false \
  --set trace.exporter=otlp --set trace.otlp_endpoint=http://127.0.0.1:$cport/v1/traces \
  --set trace.otlp_gzip=true --set trace.export_interval=200ms >"$tmp/out" 2>"$tmp/err" &
pids+=($!)
. "$src/tests/lib.sh"
wait_service "$tmp/err" hello
url=$svc_url/hello
trace_id=4bf92f3577b34da6a3ce929d0e0e4736
curl -sf -H "traceparent: 00-$trace_id-00f067aa0ba902b7-01" "$url" >/dev/null
for _ in $(seq 3); do curl -sf "$url" >/dev/null; done

# The access log line carries the caller's trace id.
grep -q "\"trace_id\":\"$trace_id\"" "$tmp/out" || { echo "no trace_id in the access log"; exit 1; }
# /debug/traces shows the span.
[[ "$(curl -sf "$admin_url/debug/traces")" == *"\"traceId\":\"$trace_id\""* ]]

# Exported after the 503 and a retry.
for _ in $(seq 100); do ls "$tmp/got"/traces-*.json >/dev/null 2>&1 && grep -q "$trace_id" "$tmp/got"/traces-*.json && break; sleep 0.1; done
grep -l "$trace_id" "$tmp/got"/traces-*.json >/dev/null || { echo "collector did not receive the trace"; exit 1; }
for f in "$tmp/got"/traces-*.json; do bash "$src/scripts/otlp_validate.sh" traces json "$f"; done
grep -q '"key":"service.name","value":{"stringValue":"hello"}' "$tmp/got"/traces-1.json
grep -q '"name":"GET /hello"' "$tmp/got"/traces-*.json
# Export counters are visible to Prometheus.
curl -sf "$admin_url/metrics" > "$tmp/metrics.txt"
grep -Eq '^svckit_trace_spans_exported_total [1-9]' "$tmp/metrics.txt"
echo "otlp export test: ok"
