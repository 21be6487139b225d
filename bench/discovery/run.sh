#!/usr/bin/env bash
# Discovery against a real etcd (docs/benchmarks.md): how long a registration change takes to reach
# every one of several watchers, and what a watcher of 1,000 instances costs idle and under churn.
# Each run starts its own etcd on free 127.0.0.1 ports. Figures go to stdout and to $OUT.
# usage: bench/discovery/run.sh BUILD_DIR     (make bench-discovery)
#        knobs: WATCHERS (5), CHANGES (100), INSTANCES (1000), SECONDS_PER_PHASE (10), RATE (10), OUT
set -euo pipefail
build=$1
bin=$build/bench/discovery/discovery_etcd_watch
OUT=${OUT:-/tmp/svckit-bench-discovery/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
"$bin" propagation --watchers "${WATCHERS:-5}" --changes "${CHANGES:-100}" | tee "$OUT/propagation.txt"
"$bin" watch --instances "${INSTANCES:-1000}" --seconds "${SECONDS_PER_PHASE:-10}" --rate "${RATE:-10}" |
  tee "$OUT/watch.txt"
echo "raw output: $OUT"
