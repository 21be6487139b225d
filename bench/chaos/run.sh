#!/usr/bin/env bash
# The chaos table (docs/benchmarks.md): a caller at a constant 1,000 requests/s (open loop) for DURATION seconds
# against a dependency that fails 40 % of calls after an 800 ms stall, healing at 2/3 of the run; once
# without protection, once with the gobreaker-style breaker + fallback, once with the adaptive breaker +
# fallback. usage: bench/chaos/run.sh BUILD_DIR     (make bench-chaos builds it)
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/bench/chaos/chaos
RATE=${RATE:-1000} DURATION=${DURATION:-30}
OUT=${OUT:-/tmp/svckit-bench-chaos}
mkdir -p "$OUT"
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done' EXIT
common=(--config-dir "$src/configs" --set log.level=error --set http.host=127.0.0.1 --set admin.port=0 --set app.workers=1)
"$bin" dependency "${common[@]}" --set http.port=9301 --set http.access_log=false >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
heal_at=$(( DURATION * 2 / 3 ))
: > "$OUT/rules.txt"
printf '| mode | requests | avg ms | p50 ms | p99 ms | client-visible errors | breaker closed after heal |\n|---|---|---|---|---|---|---|\n' > "$OUT/table.md"
# The protection of each mode is one resilience.upstreams rule (the config a service would ship).
for mode in none breaker adaptive adaptive-100ms; do
  case $mode in
    none) rule="timeout=300ms"; fallback=false ;;
    breaker) rule="timeout=300ms breaker=gobreaker failure_ratio=0.2 min_requests=20 interval=2s open_for=5s probes=3"
             fallback=true ;;
    adaptive) rule="timeout=300ms breaker=adaptive k=1.5"; fallback=true ;;
    adaptive-100ms) rule="timeout=100ms breaker=adaptive k=1.5"; fallback=true ;;
  esac
  # The rule's keys as one item of resilience.upstreams: resilience.upstreams.0.<key>=<value>.
  upstream=(--set resilience.upstreams.0.name=dependency)
  for kv in $rule; do upstream+=(--set "resilience.upstreams.0.$kv"); done
  echo "$mode: resilience.upstreams: [{name: dependency, ${rule// /, }}] chaos.fallback=$fallback" | tr = : >> "$OUT/rules.txt"
  curl -s -X PUT "http://127.0.0.1:9301/chaos?error=0.4&stall_ms=800" >/dev/null
  "$bin" caller "${common[@]}" --set http.port=9302 --set http.access_log=false --set chaos.fallback=$fallback \
    "${upstream[@]}" \
    --set chaos.upstream=http://127.0.0.1:9301/work >/dev/null 2>"$OUT/caller-$mode.err" &
  cpid=$!
  sleep 0.5
  admin=$(sed -n 's/^caller: admin \(http[^ ]*\).*/\1/p' "$OUT/caller-$mode.err")
  "$bin" load http://127.0.0.1:9302/call "$RATE" "$DURATION" > "$OUT/load-$mode.txt" &
  lpid=$!
  sleep "$heal_at"
  curl -s -X PUT "http://127.0.0.1:9301/chaos?error=0" >/dev/null
  healed=$(date +%s%N)
  closed="-"
  if [ "$mode" = breaker ]; then
    for _ in $(seq 200); do
      m=$(curl -s "$admin/metrics")  # not piped into grep -q: SIGPIPE would fail the pipeline
      if grep -q '^svckit_resilience_breaker_state{breaker="dependency"} 0' <<<"$m"; then
        closed="$(( ($(date +%s%N) - healed) / 1000000 )) ms"; break
      fi
      sleep 0.05
    done
  fi
  wait $lpid
  kill $cpid; wait $cpid 2>/dev/null || true
  line=$(cat "$OUT/load-$mode.txt")
  get() { echo "$line" | sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
  echo "| $mode | $(get requests) | $(get avg_ms) | $(get p50_ms) | $(get p99_ms) | $(get error_pct) % | $closed |" | tee -a "$OUT/table.md"
done
echo
cat "$OUT/table.md"
cat "$OUT/rules.txt"
