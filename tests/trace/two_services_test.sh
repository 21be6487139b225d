#!/usr/bin/env bash
# Traces, logs and metrics end to end: a request with a W3C traceparent goes curl → relay → hello
# (two svckit processes). Both export spans, logs and metrics over OTLP/HTTP to a stand-in collector
# (named as such: no OpenTelemetry Collector is packaged in Debian). Checked: one trace with the right
# parent/child chain across both services, log records of both carrying that trace id, metric pushes
# from both, every payload accepted by the OpenTelemetry protobuf schema (scripts/otlp_validate.sh).
set -euo pipefail
relay=$1 hello=$2 src=$3
PY=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ $rc -eq 0 ] || { for f in "$tmp"/*.err; do echo "--- $f"; tail -5 "$f"; done; ls "$tmp/got"; }
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
mkdir -p "$tmp/got"
$PY "$src/tests/trace/otlp_collector.py" "$tmp/got" > "$tmp/collector.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/collector.port" ] && break; sleep 0.05; done
otlp=http://127.0.0.1:$(cat "$tmp/collector.port")
common=(--config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0
  --set trace.exporter=otlp --set trace.otlp_endpoint=$otlp/v1/traces --set trace.export_interval=200ms
  --set otlp.logs=true --set otlp.logs_endpoint=$otlp/v1/logs
  --set otlp.metrics=true --set otlp.metrics_endpoint=$otlp/v1/metrics --set otlp.metrics_interval=500ms)

"$hello" "${common[@]}" >"$tmp/hello.out" 2>"$tmp/hello.err" &
pids+=($!)
wait_service "$tmp/hello.err" hello
hello_url=$svc_url
"$relay" "${common[@]}" --set relay.upstream=$hello_url/hello >"$tmp/relay.out" 2>"$tmp/relay.err" &
pids+=($!)
wait_service "$tmp/relay.err" relay

trace_id=0af7651916cd43dd8448eb211c80319c parent=b7ad6b7169203331
body=$(curl -sf -H "traceparent: 00-$trace_id-$parent-01" "$svc_url/relay")
[ "$body" = 'relay<{"msg":"Hello svckit"}>' ] || { echo "unexpected body: $body"; exit 1; }

# Wait until both services' spans of the trace have arrived.
for _ in $(seq 300); do
  [ "$(cat "$tmp/got"/traces-*.json 2>/dev/null | grep -o "\"traceId\":\"$trace_id\"" | wc -l)" -ge 3 ] && break
  sleep 0.1
done
$PY - "$tmp/got" "$trace_id" "$parent" <<'PY'
import glob, json, sys
got, trace_id, parent = sys.argv[1:4]
spans = []
for f in sorted(glob.glob(got + "/traces-*.json")):
    for rs in json.load(open(f))["resourceSpans"]:
        svc = [a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "service.name"][0]
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                if s["traceId"] == trace_id:
                    spans.append((svc, s))
def one(svc, kind, name):
    m = [s for v, s in spans if v == svc and s["kind"] == kind and s["name"] == name]
    assert len(m) == 1, f"expected one {svc} span {name!r} kind {kind}, got {len(m)}: {[(v, s['name'], s['kind']) for v, s in spans]}"
    return m[0]
relay_server = one("relay", 2, "GET /relay")
relay_client = one("relay", 3, "GET")
hello_server = one("hello", 2, "GET /hello")
assert relay_server.get("parentSpanId") == parent, relay_server
assert relay_client["parentSpanId"] == relay_server["spanId"], (relay_client, relay_server)
assert hello_server["parentSpanId"] == relay_client["spanId"], (hello_server, relay_client)
print("one trace across two services:", len(spans), "spans, parent chain ok")
PY

# Logs: the relay's own line and hello's access log line carry the trace id, in OTLP records.
for _ in $(seq 300); do
  grep -qs "\"traceId\":\"$trace_id\"" "$tmp/got"/logs-*.json && \
    [ "$(grep -l "\"traceId\":\"$trace_id\"" "$tmp/got"/logs-*.json | xargs grep -l '"stringValue":"hello"' | wc -l)" -ge 1 ] && \
    [ "$(grep -l "\"traceId\":\"$trace_id\"" "$tmp/got"/logs-*.json | xargs grep -l '"stringValue":"relayed"' | wc -l)" -ge 1 ] && break
  sleep 0.1
done
$PY - "$tmp/got" "$trace_id" <<'PY'
import glob, json, sys
got, trace_id = sys.argv[1:3]
seen = set()
for f in glob.glob(got + "/logs-*.json"):
    for rl in json.load(open(f))["resourceLogs"]:
        svc = [a["value"]["stringValue"] for a in rl["resource"]["attributes"] if a["key"] == "service.name"][0]
        for sl in rl["scopeLogs"]:
            for r in sl["logRecords"]:
                if r.get("traceId") == trace_id:
                    assert len(r.get("spanId", "")) == 16, r
                    seen.add((svc, r["body"]["stringValue"]))
assert ("relay", "relayed") in seen, seen
assert ("hello", "http request") in seen, seen
assert ("relay", "http request") in seen, seen
print("log records with the trace id:", sorted(seen))
PY

# Metrics pushed by both, with the RED series labelled by route.
for _ in $(seq 300); do
  grep -qs '"svckit_http_server_requests_total"' "$tmp/got"/metrics-*.json && \
    [ "$(grep -l '"key":"route","value":{"stringValue":"/relay"}' "$tmp/got"/metrics-*.json | wc -l)" -ge 1 ] && \
    [ "$(grep -l '"key":"route","value":{"stringValue":"/hello"}' "$tmp/got"/metrics-*.json | wc -l)" -ge 1 ] && break
  sleep 0.1
done
grep -l '"key":"route","value":{"stringValue":"/relay"}' "$tmp/got"/metrics-*.json >/dev/null
grep -l '"key":"route","value":{"stringValue":"/hello"}' "$tmp/got"/metrics-*.json >/dev/null

# A clean stop flushes; then every payload passes the schema check.
for p in "${pids[@]:1}"; do kill -TERM "$p"; done
for p in "${pids[@]:1}"; do wait "$p"; done
pids=("${pids[0]}")
# One document per signal holding every payload's resource entries: three schema checks, not one per
# payload (each starts Python and protobuf; under sanitizers that adds up).
n=$(ls "$tmp/got"/*.json | wc -l)
for signal in traces logs metrics; do
  $PY - "$tmp/got" "$signal" "$tmp/all-$signal.json" <<'PY'
import glob, json, sys
got, signal, out = sys.argv[1:4]
key = {"traces": "resourceSpans", "logs": "resourceLogs", "metrics": "resourceMetrics"}[signal]
merged = {key: []}
for f in sorted(glob.glob(f"{got}/{signal}-*.json")):
    merged[key] += json.load(open(f))[key]
json.dump(merged, open(out, "w"))
PY
  bash "$src/scripts/otlp_validate.sh" "$signal" json "$tmp/all-$signal.json" >/dev/null ||
    { bash "$src/scripts/otlp_validate.sh" "$signal" json "$tmp/all-$signal.json"; exit 1; }
done
echo "schema check: $n payloads valid"
echo "two services test: ok"
