#!/usr/bin/env bash
# Exemplars end to end: hello under load (a quarter of its callers' traces sampled), a real
# Prometheus with exemplar storage scraping its admin port (OpenMetrics negotiated by Prometheus), and
# the stand-in OTLP collector of tests/trace receiving its spans. Prometheus' query_exemplars must
# return exemplars on the latency histogram whose trace ids are sampled callers' traces (never an
# unsampled one), whose span ids are hello's server spans in /debug/traces and in the OTLP export, and
# whose values fall in their bucket. The Prometheus text format stays free of exemplars and passes
# promtool; the OpenMetrics one passes Python's strict parser. All on 127.0.0.1, bounded, cleaned up.
set -euo pipefail
bin=$1 src=$2
PY=/usr/bin/python3
command -v prometheus >/dev/null && command -v promtool >/dev/null || {
  echo "prometheus/promtool missing: make test installs them (scripts/deps.sh test)"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ $rc -eq 0 ] || { echo "--- prometheus log"; tail -20 "$tmp/prom.log" 2>/dev/null; echo "--- hello stderr"; tail -5 "$tmp/err" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib.sh"

mkdir -p "$tmp/got"
$PY "$src/tests/trace/otlp_collector.py" "$tmp/got" > "$tmp/collector.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/collector.port" ] && break; sleep 0.05; done
cport=$(cat "$tmp/collector.port")

cp -r "$src/configs" "$tmp/configs"
# The ring behind /debug/traces holds every sampled span of the run (the load below is bounded).
"$bin" --config-dir "$tmp/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
  --set log.level=warn --set trace.exporter=otlp --set trace.otlp_endpoint=http://127.0.0.1:$cport/v1/traces \
  --set trace.export_interval=200ms --set trace.queue_size=8192 --set trace.recent_spans=8192 \
  >"$tmp/out" 2>"$tmp/err" &
pids+=($!)
wait_service "$tmp/err" hello
target=${admin_url#http://}

pport=$(free_port_block 1)
cat > "$tmp/prometheus.yml" <<Y
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: hello
    static_configs: [{targets: ['$target']}]
Y
promtool check config "$tmp/prometheus.yml" >/dev/null
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" --enable-feature=exemplar-storage \
  --web.listen-address=127.0.0.1:$pport --log.level=warn >"$tmp/prom.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null && break; sleep 0.1; done
start=$(date +%s)

# Load: 4 keep-alive clients for about 8 s (at most 1500 requests each), every request its own trace,
# one in four sampled by the caller (flags 01), the others not (00); hello's parent-based sampler
# follows.
$PY - "$svc_url" "$tmp" <<'PY'
import http.client, os, sys, threading, time, urllib.parse
url, tmp = urllib.parse.urlparse(sys.argv[1]), sys.argv[2]
sampled, unsampled, lock = [], [], threading.Lock()
deadline = time.time() + 8
def client(n):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    for i in range(1500):
        if time.time() > deadline:
            break
        tid, flag = os.urandom(16).hex(), "01" if i % 4 == 0 else "00"
        c.request("GET", "/hello", headers={"traceparent": f"00-{tid}-{os.urandom(8).hex()}-{flag}"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
        with lock:
            (sampled if flag == "01" else unsampled).append(tid)
        time.sleep(0.005)
threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
open(f"{tmp}/sampled", "w").write("\n".join(sampled) + "\n")
open(f"{tmp}/unsampled", "w").write("\n".join(unsampled) + "\n")
print(f"load: {len(sampled)} sampled and {len(unsampled)} unsampled requests")
assert len(sampled) > 100 and len(unsampled) > 100
PY

# The two formats as served now.
curl -sf "$admin_url/metrics" > "$tmp/metrics.txt"
promtool check metrics < "$tmp/metrics.txt"
if grep -q ' # {' "$tmp/metrics.txt"; then echo "exemplars in the Prometheus 0.0.4 text"; exit 1; fi
curl -sf -D "$tmp/om.head" -H 'Accept: application/openmetrics-text; version=1.0.0' "$admin_url/metrics" > "$tmp/metrics.om"
grep -qi '^content-type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$tmp/om.head"
$PY - "$tmp/metrics.om" "$tmp/sampled" <<'PY'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
sampled = set(open(sys.argv[2]).read().split())
n = 0
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        if s.exemplar:
            assert s.name == "svckit_http_server_request_duration_seconds_bucket", s
            assert s.exemplar.labels["trace_id"] in sampled, s
            n += 1
assert n > 0, "no exemplar in the OpenMetrics text"
print(f"openmetrics: strict parser read {n} exemplars")
PY

# Two more scrapes after the load, then ask Prometheus for the exemplars it stored.
scrapes() {
  curl -s -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=count_over_time(up{job="hello"}[10m])' |
    $PY -c 'import sys,json; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}
after=$(scrapes)
for _ in $(seq 100); do [ "$(scrapes)" -ge $((after + 2)) ] && break; sleep 0.2; done
health=$(curl -s "http://127.0.0.1:$pport/api/v1/targets" | $PY -c 'import sys,json; t=json.load(sys.stdin)["data"]["activeTargets"][0]; print(t["health"], t["lastError"] or "-")')
[ "$health" = "up -" ] || { echo "target: $health"; exit 1; }
end=$(($(date +%s) + 5))
curl -sf -G "http://127.0.0.1:$pport/api/v1/query_exemplars" \
  --data-urlencode 'query=svckit_http_server_request_duration_seconds_bucket{job="hello"}' \
  --data-urlencode "start=$start" --data-urlencode "end=$end" > "$tmp/exemplars.json"

# Every stored exemplar: a sampled caller's trace, hello's server span of it (in /debug/traces and
# in what reached the collector), a value inside its bucket.
$PY - "$tmp" "$admin_url" <<'PY'
import glob, json, sys, time, urllib.request
tmp, admin = sys.argv[1], sys.argv[2]
sampled = set(open(f"{tmp}/sampled").read().split())
unsampled = set(open(f"{tmp}/unsampled").read().split())
got = json.load(open(f"{tmp}/exemplars.json"))
assert got["status"] == "success", got
exemplars = []
for series in got["data"]:
    labels = series["seriesLabels"]
    assert labels["__name__"] == "svckit_http_server_request_duration_seconds_bucket", labels
    for e in series["exemplars"]:
        exemplars.append((labels, e))
# Scrapes during the load saw the slot change: the latest sampled request wins, scrape after scrape.
assert len({e["labels"]["trace_id"] for _, e in exemplars}) >= 3, ("too few exemplars", exemplars)
# The collector has every exported span once the batches are flushed (export interval 200 ms).
def exported():
    spans = {}
    for f in glob.glob(f"{tmp}/got/traces-*.json"):
        for rs in json.load(open(f))["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    spans[(s["traceId"], s["spanId"])] = s
    return spans
wanted = {(e["labels"]["trace_id"], e["labels"]["span_id"]) for _, e in exemplars}
for _ in range(100):
    spans = exported()
    if wanted <= spans.keys():
        break
    time.sleep(0.1)
for labels, e in exemplars:
    tid, sid, value = e["labels"]["trace_id"], e["labels"]["span_id"], float(e["value"])
    assert set(e["labels"]) == {"trace_id", "span_id"}, e
    assert tid in sampled, ("exemplar of a trace nobody sampled", tid)
    assert tid not in unsampled, ("exemplar of an unsampled trace", tid)
    le = labels["le"]
    assert le == "+Inf" or value <= float(le), (value, le)
    debug = json.load(urllib.request.urlopen(f"{admin}/debug/traces?trace_id={tid}"))
    names = {s["spanId"]: s["name"] for rs in debug["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]}
    assert names.get(sid) == "GET /hello", ("not in /debug/traces", tid, sid, names)
    s = spans.get((tid, sid))
    assert s is not None, ("not exported over OTLP", tid, sid)
    assert s["name"] == "GET /hello" and s["kind"] == 2, s
    # The exemplar's value is the request's duration as the metrics middleware measured it: within
    # the span's own duration plus the middleware around it.
    span_seconds = (int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e9
    assert value >= span_seconds * 0.5 - 0.001, (value, span_seconds)
print(f"query_exemplars: {len(exemplars)} exemplars over {len(got['data'])} bucket series, "
      f"all sampled traces found in /debug/traces and the OTLP export")
PY
# Grafana: the dashboard's latency panels ask for exemplars (Grafana sends a target's expression to
# query_exemplars, as here) and the Prometheus data source links their trace_id to the trace backend.
$PY - "$src/deploy/grafana" "http://127.0.0.1:$pport" "$tmp/sampled" "$start" "$end" <<'PY'
import json, sys, urllib.parse, urllib.request, yaml
grafana, base, start, end = sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[5]
sampled = set(open(sys.argv[3]).read().split())
dash = json.load(open(f"{grafana}/svckit-overview.json"))
n = 0
for p in dash["panels"]:
    targets = p.get("targets", [])
    latency = p["type"] == "timeseries" and any("_duration_seconds_bucket" in t["expr"] for t in targets)
    assert latency == any(t.get("exemplar") for t in targets), ("exemplars on latency panels only", p["title"])
    for t in targets:
        if not t.get("exemplar"):
            continue
        q = t["expr"].replace("$__rate_interval", "1m").replace("$job", ".*").replace("$instance", ".*")
        url = base + "/api/v1/query_exemplars?" + urllib.parse.urlencode({"query": q, "start": start, "end": end})
        r = json.load(urllib.request.urlopen(url))
        assert r["status"] == "success", (p["title"], r)
        got = [e for s in r["data"] for e in s["exemplars"]]
        if "svckit_http_server" in q:  # hello serves; it makes no outgoing calls
            assert got, ("no exemplars for", p["title"])
        assert all(e["labels"]["trace_id"] in sampled for e in got), p["title"]
        n += 1
sources = yaml.safe_load(open(f"{grafana}/provisioning/datasources.yaml"))["datasources"]
prom = next(d for d in sources if d["type"] == "prometheus")
tempo = next(d for d in sources if d["type"] == "tempo")
links = prom["jsonData"]["exemplarTraceIdDestinations"]
assert [(l["name"], l["datasourceUid"]) for l in links] == [("trace_id", tempo["uid"])], links
print(f"grafana: {n} latency targets with exemplars, trace_id linked to data source {tempo['uid']}")
PY
echo "exemplars test: ok"
