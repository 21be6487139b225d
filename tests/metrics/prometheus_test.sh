#!/usr/bin/env bash
# A real Prometheus 2.42 (Debian's) scrapes the hello service and answers PromQL over svckit's series;
# promtool lints what /metrics serves. Everything on 127.0.0.1, free ports, a temp dir, stopped on exit.
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

cp -r "$src/configs" "$tmp/configs"
"$bin" --config-dir "$tmp/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
  --set log.level=warn >"$tmp/out" 2>"$tmp/err" &
pids+=($!)
. "$src/tests/lib.sh"
wait_service "$tmp/err" hello
url=$svc_url/hello
base=$svc_url
target=${admin_url#http://}   # Prometheus scrapes the admin port

for _ in $(seq 25); do curl -sf "$url" >/dev/null; done
for _ in $(seq 3); do curl -s -o /dev/null "$base/missing"; done

# promtool: the Prometheus text format as served, no lint findings (exit 0, not 3).
curl -sf "$admin_url/metrics" > "$tmp/metrics.txt"
promtool check metrics < "$tmp/metrics.txt"
grep -q '^process_resident_memory_bytes ' "$tmp/metrics.txt"
grep -q '^svckit_runtime_loop_lag_seconds{loop="0"} ' "$tmp/metrics.txt"

pport=$(free_port)
cat > "$tmp/prometheus.yml" <<Y
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: hello
    static_configs: [{targets: ['$target']}]
Y
promtool check config "$tmp/prometheus.yml" >/dev/null
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address=127.0.0.1:$pport --log.level=warn >"$tmp/prom.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null && break; sleep 0.1; done

query() {  # prints the first result's value, or nothing
  curl -s -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
    $PY -c 'import sys,json; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# Prometheus negotiates OpenMetrics with us; wait for a scrape that saw the 25 requests.
value=
for _ in $(seq 150); do
  value=$(query 'svckit_http_server_requests_total{job="hello",route="/hello",status="200",method="GET"}')
  [ "$value" = 25 ] && break
  sleep 0.2
done
[ "$value" = 25 ] || { echo "PromQL saw '$value' /hello requests, expected 25"; exit 1; }
[ "$(query 'sum(svckit_http_server_requests_total{job="hello",route="unmatched",status="404"})')" = 3 ]
[ "$(query 'up{job="hello"}')" = 1 ]
# Histograms work as histograms: a quantile comes back as a number.
q=$(query 'histogram_quantile(0.99, sum by (le) (svckit_http_server_request_duration_seconds_bucket{job="hello"}))')
$PY -c "import sys; v=float('$q'); sys.exit(0 if 0 <= v < 10 else 1)" || { echo "bad quantile '$q'"; exit 1; }
[ -n "$(query 'process_start_time_seconds{job="hello"}')" ]
# The scrape used OpenMetrics (Prometheus asks for it first): no parse errors reported for the target.
health=$(curl -s "http://127.0.0.1:$pport/api/v1/targets" | $PY -c 'import sys,json; t=json.load(sys.stdin)["data"]["activeTargets"][0]; print(t["health"], t["lastError"] or "-")')
[ "$health" = "up -" ] || { echo "target: $health"; exit 1; }
# rate() needs two scrapes in its window.
for _ in $(seq 100); do [ "$(query 'count_over_time(up{job="hello"}[1m])')" -ge 3 ] 2>/dev/null && break; sleep 0.2; done
# Every query of the Grafana dashboard is valid PromQL over these series; the RED, process and runtime
# panels return data (the HTTP client and overflow panels have none: hello makes no calls).
$PY - "$src/deploy/grafana/svckit-overview.json" "http://127.0.0.1:$pport" <<'PY'
import json, sys, urllib.parse, urllib.request
dash, base = json.load(open(sys.argv[1])), sys.argv[2]
assert [v["type"] for v in dash["templating"]["list"]][0] == "datasource"
n = 0
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    assert p["datasource"]["uid"] == "${datasource}", p["title"]
    for t in p["targets"]:
        q = t["expr"].replace("$__rate_interval", "1m").replace("$job", ".*").replace("$instance", ".*")
        r = json.load(urllib.request.urlopen(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})))
        assert r["status"] == "success", (p["title"], q, r)
        must = any(m in q for m in ("svckit_http_server", "process_", "svckit_runtime", "svckit_log_dropped"))
        assert r["data"]["result"] or not must, ("no data", p["title"], q)
        n += 1
print(f"dashboard: {n} queries valid")
PY
echo "prometheus test: ok (PromQL read 25 requests, p99 $q s)"
