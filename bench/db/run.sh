#!/usr/bin/env bash
# Database benchmark: svckit's PostgreSQL pool against pgbench, a plain libpq C program and psql, all
# against the same throwaway PostgreSQL 15 (scripts/pg.sh) in the same run.
# usage: bench/db/run.sh BUILD_DIR        (make bench-db builds it)
# env: ROUNDS (3), DURATION seconds per select round (10), CONNS (8), OUT (/tmp/svckit-bench-db)
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/svckit-bench-db}
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNS=${CONNS:-8}
mkdir -p "$OUT"
pg=$(mktemp -d /tmp/svckit-pg-bench.XXXXXX)
trap 'bash "$src/scripts/pg.sh" stop "$pg" 2>/dev/null; rm -rf "$pg"' EXIT
dsn=$(bash "$src/scripts/pg.sh" start "$pg")
export PGHOST=127.0.0.1 PGPORT=$(cat "$pg/port") PGUSER=svckit PGPASSWORD=svckit PGDATABASE=svckit
bench=$build/bench/db/db_bench_client
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "== point select by primary key (pgbench scale 10, $CONNS connections, ${DURATION}s x $ROUNDS)"
pgbench -i -s 10 -q >/dev/null 2>&1
: > "$OUT/select.txt"
for r in $(seq "$ROUNDS"); do
  t=$(pgbench -S -M prepared -n -c "$CONNS" -j 2 -T "$DURATION" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p')
  echo "pgbench $t" | tee -a "$OUT/select.txt"
  t=$("$bench" select "$dsn" "$CONNS" "$DURATION" "$CONNS" | sed -n 's/.*tps=\([0-9.]*\).*/\1/p')
  echo "svckit-same-concurrency $t" | tee -a "$OUT/select.txt"
  t=$("$bench" select "$dsn" "$CONNS" "$DURATION" 128 | sed -n 's/.*tps=\([0-9.]*\).*/\1/p')
  echo "svckit-pipelined $t" | tee -a "$OUT/select.txt"
done

echo "== fetch 10,000 rows with a JSONB column (median of 15)"
psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE IF NOT EXISTS bench_fetch (id bigint PRIMARY KEY, name text, score float8, doc jsonb)" \
  -c "TRUNCATE bench_fetch" \
  -c "INSERT INTO bench_fetch SELECT g, 'user ' || g, g * 0.25, jsonb_build_object('n', g, 'city', 'Oslo', 'tags', jsonb_build_array('a', 'b', 'c'), 'note', repeat('x', 40)) FROM generate_series(1, 10000) g" \
  -c "VACUUM ANALYZE bench_fetch" >/dev/null
"$build/bench/db/libpq_fetch" "$dsn" 15 | tee "$OUT/fetch_libpq.txt" >/dev/null
"$bench" fetch "$dsn" 15 | tee "$OUT/fetch_svckit.txt" >/dev/null
libpq_ms=$(sed -n 's/^libpq fetch: \([0-9.]*\) ms.*/\1/p' "$OUT/fetch_libpq.txt" | tail -n +3 | median)
svckit_ms=$(sed -n 's/^svckit fetch: \([0-9.]*\) ms.*/\1/p' "$OUT/fetch_svckit.txt" | tail -n +3 | median)
echo "libpq $libpq_ms ms, svckit $svckit_ms ms"

echo "== COPY 100,000 rows (median of $ROUNDS)"
psql -q -c "CREATE TABLE IF NOT EXISTS bench_copy (id bigint, name text, score float8, doc jsonb)" >/dev/null
/usr/bin/python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        f.write(f"{i}\tname-{i}\t0.5\t{{\"n\": {i}, \"tags\": [\"a\", \"b\"]}}\n")' "$OUT/copy.tsv"
: > "$OUT/copy.txt"
for r in $(seq "$ROUNDS"); do
  psql -q -c "TRUNCATE bench_copy" >/dev/null
  t0=$(date +%s%N)
  psql -q -c "\\copy bench_copy (id, name, score, doc) FROM '$OUT/copy.tsv'" >/dev/null
  echo "psql $(( ($(date +%s%N) - t0) / 1000 ))" | tee -a "$OUT/copy.txt"
  psql -q -c "TRUNCATE bench_copy" >/dev/null
  ms=$("$bench" copy "$dsn" 100000 | sed -n 's/.* in \([0-9.]*\) ms/\1/p')
  echo "svckit $(/usr/bin/python3 -c "print(int(float('$ms') * 1000))")" | tee -a "$OUT/copy.txt"
done

/usr/bin/python3 - "$OUT" "$libpq_ms" "$svckit_ms" <<'PY'
import statistics, sys
out, libpq_ms, svckit_ms = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def load(name):
    d = {}
    for line in open(f"{out}/{name}"):
        k, v = line.split()
        d.setdefault(k, []).append(float(v))
    return {k: statistics.median(v) for k, v in d.items()}
s, c = load("select.txt"), load("copy.txt")
print("\n| case | svckit | peer | svckit vs peer |\n|---|---|---|---|")
print(f"| point select, same concurrency (tps) | {s['svckit-same-concurrency']:,.0f} | pgbench -S -M prepared {s['pgbench']:,.0f} | {s['svckit-same-concurrency']/s['pgbench']:.2f}x |")
print(f"| point select, 128 coroutines pipelined on the same connections (tps) | {s['svckit-pipelined']:,.0f} | pgbench {s['pgbench']:,.0f} | {s['svckit-pipelined']/s['pgbench']:.2f}x |")
print(f"| fetch 10,000 rows with JSONB (ms) | {svckit_ms:.2f} | libpq C {libpq_ms:.2f} | {svckit_ms/libpq_ms:.2f}x time |")
print(f"| COPY 100,000 rows (ms) | {c['svckit']/1000:.0f} | psql \\copy {c['psql']/1000:.0f} | {c['svckit']/c['psql']:.2f}x time |")
PY
