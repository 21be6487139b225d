#!/usr/bin/env bash
# Logger benchmark: svckit against Zap and zerolog in the same run, each pinned to the same CPU.
# usage: bench/log/run.sh path/to/svckit_log_bench        (make bench-log builds it first)
# Prints a markdown table (ns/op, allocs/op, ratios) and keeps raw output in $OUT (default /tmp/svckit-bench-log).
set -euo pipefail
ours=$1
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/svckit-bench-log}
CPU=${CPU:-1}
mkdir -p "$OUT"
export GO111MODULE=off GOPATH=/usr/share/gocode:$OUT/gopath GOPROXY=off GOFLAGS= GOCACHE=$OUT/gocache GOTOOLCHAIN=local

taskset -c "$CPU" "$ours" --benchmark_min_time=1 --benchmark_repetitions=${REPS:-3} \
  --benchmark_report_aggregates_only=true --benchmark_format=console > "$OUT/svckit.txt"
(cd "$here/go" && taskset -c "$CPU" go test -run '^$' -bench . -benchmem -benchtime=1s -count=${REPS:-3}) > "$OUT/go.txt"

/usr/bin/python3 - "$OUT/svckit.txt" "$OUT/go.txt" <<'PY'
import re, sys, statistics
ours = {}
for line in open(sys.argv[1]):
    m = re.match(r'(BM_\w+)_median\s+([\d.]+) ns\s+[\d.]+ ns\s+\d+(.*)', line)
    if m:
        allocs = re.search(r'allocs_per_op=([\d.]+)([munk]?)', m.group(3))
        scale = {'': 1, 'n': 1e-9, 'u': 1e-6, 'm': 1e-3, 'k': 1e3}[allocs.group(2)] if allocs else 0
        ours[m.group(1)] = (float(m.group(2)), float(allocs.group(1)) * scale if allocs else 0.0)
go = {}
for line in open(sys.argv[2]):
    m = re.match(r'Benchmark(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op', line)
    if m:
        go.setdefault(m.group(1), []).append((float(m.group(2)), int(m.group(4))))
med = {k: (statistics.median(x[0] for x in v), v[0][1]) for k, v in go.items()}
rows = [("message + 10 fields", "BM_Message10Fields", "Zap10Fields", "Zerolog10Fields", "ZapNoCaller10Fields", "ZerologNoCaller10Fields"),
        ("logger with 10 context fields", "BM_AccumulatedContext10Fields", "ZapContext10Fields", "ZerologContext10Fields", "ZapNoCallerContext", "ZerologNoCallerContext")]
print("| case | svckit ns/op (allocs) | Zap ns/op (allocs) | zerolog ns/op (allocs) | svckit/Zap | svckit/zerolog | Zap, zerolog without caller |")
print("|---|---|---|---|---|---|---|")
for name, o, z, zl, zn, zln in rows:
    so, sa = ours[o]; zo, za = med[z]; lo, la = med[zl]
    print(f"| {name} | {so:.0f} ({sa:.0f}) | {zo:.0f} ({za}) | {lo:.0f} ({la}) | {so/zo:.2f}x | {so/lo:.2f}x | {med[zn][0]:.0f}, {med[zln][0]:.0f} |")
for k in ("BM_DisabledLevel", "BM_Message10FieldsAsyncSink"):
    if k in ours: print(f"| {k} | {ours[k][0]:.1f} ({ours[k][1]:.4f}) | | | | | |")
PY
