#!/usr/bin/env bash
# Metrics benchmark: svckit against Prometheus' Go client (client_golang) in the same run, same CPU.
# usage: bench/metrics/run.sh path/to/svckit_metrics_bench        (make bench-metrics builds it first)
set -euo pipefail
ours=$1
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/svckit-bench-metrics}
CPU=${CPU:-1}
mkdir -p "$OUT"
export GO111MODULE=off GOPATH=/usr/share/gocode:$OUT/gopath GOPROXY=off GOFLAGS= GOCACHE=$OUT/gocache GOTOOLCHAIN=local

taskset -c "$CPU" "$ours" --benchmark_filter='threads:1|GaugeIncDec|Render' --benchmark_repetitions=${REPS:-3} \
  --benchmark_report_aggregates_only=true > "$OUT/svckit.txt"
(cd "$here/go" && taskset -c "$CPU" go test -run '^$' -bench . -benchmem -count=${REPS:-3}) > "$OUT/go.txt"

/usr/bin/python3 - "$OUT/svckit.txt" "$OUT/go.txt" <<'PY'
import re, sys, statistics
ours = {}
for line in open(sys.argv[1]):
    m = re.match(r'BM_(\w+?)(?:/threads:1)?_median\s+([\d.]+) (ns|ms)', line)
    if m:
        ours[m.group(1)] = float(m.group(2)) * (1e6 if m.group(3) == 'ms' else 1)
go = {}
for line in open(sys.argv[2]):
    m = re.match(r'Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op', line)
    if m:
        go.setdefault(m.group(1), []).append(float(m.group(2)))
print("| operation | svckit | client_golang | svckit / Go |")
print("|---|---|---|---|")
for k in ("CounterInc", "LabelledIncCachedHandle", "LabelledIncLookup", "HistogramObserve", "Render10kSeries"):
    o, g = ours.get(k), statistics.median(go[k]) if k in go else None
    if o is None or g is None: continue
    unit = lambda ns: f"{ns/1e6:.2f} ms" if ns > 1e5 else f"{ns:.1f} ns"
    print(f"| {k} | {unit(o)} | {unit(g)} | {o/g:.2f}x |")
PY
