#!/usr/bin/env bash
# Crash safety (docs/reliability.md): user-svc is killed with SIGKILL in the middle of a write load
# (8 writer threads), on SQLite and on a PostgreSQL 15 started here, and restarted: every write that
# was acknowledged with 201 is present, the database passes its integrity check (SQLite's
# integrity_check; PostgreSQL's pg_amcheck), no migration runs again, and the service is ready within
# 2 s of its restart.
# usage: crash_safety.sh BUILD_DIR SRC_DIR
set -euo pipefail
build=$1 src=$2
PY=/usr/bin/python3
tmp=$(mktemp -d)
pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)
pid= load=
cleanup() {
  rc=$?
  set +e
  [ -n "$load" ] && kill "$load" 2>/dev/null
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -f "$pg/data/postmaster.pid" ] && bash "$src/scripts/pg.sh" stop "$pg" >/dev/null 2>&1
  [ $rc -eq 0 ] || { echo "--- user-svc stderr"; tail -5 "$tmp/err"; }
  rm -rf "$tmp" "$pg"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"
cd "$src"

start() {
  : >"$tmp/err"
  : >"$tmp/out"
  "$build/cmd/user-svc/user-svc" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 \
    --set admin.port=0 --set log.level=info --set log.async=false --set discovery.backend=static "$@" \
    >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  wait_service "$tmp/err" user-svc
}

crash_and_recover() {  # label db-args...
  local label=$1
  shift
  rm -f "$tmp/acked"
  start "$@"
  $PY tests/reliability/write_load.py write "$svc_url" "$tmp/acked" 8 &
  load=$!
  sleep 1.5
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  # The first start applied the migrations (and said so): the check after the restart means something.
  grep -q '"msg":"migration applied"' "$tmp/out" || { echo "$label: the first start logged no migration"; exit 1; }
  wait "$load" || true
  load=
  local t0 t1
  t0=$(date +%s%N)
  start "$@"
  for _ in $(seq 200); do curl -sf -o /dev/null "$admin_url/readyz" && break; sleep 0.01; done
  t1=$(date +%s%N)
  curl -sf -o /dev/null "$admin_url/readyz" || { echo "$label: not ready after restart"; exit 1; }
  local ready_ms=$(((t1 - t0) / 1000000))
  [ "$ready_ms" -le 2000 ] || { echo "$label: ready after $ready_ms ms (more than 2 s)"; exit 1; }
  if grep -q '"msg":"migration applied"' "$tmp/out"; then echo "$label: a migration ran again after the crash"; exit 1; fi
  local figures
  figures=$($PY tests/reliability/write_load.py verify "$svc_url" "$tmp/acked")
  echo "$label: killed mid-write; $figures; ready $ready_ms ms after the restart (process start included)"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

crash_and_recover sqlite --set db.sqlite.path="$tmp/user.db"
integrity=$($PY -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$tmp/user.db")
[ "$integrity" = ok ] || { echo "sqlite integrity_check: $integrity"; exit 1; }
echo "sqlite: integrity_check ok"

dsn=$(bash scripts/pg.sh start "$pg")
crash_and_recover postgres --set db.driver=postgres --set "db.postgres.dsn=$dsn"
port=$(cat "$pg/port")
runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$pg" -p "$port" -U postgres -d svckit -q -v ON_ERROR_STOP=1 \
  -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_amcheck -h "$pg" -p "$port" -U postgres -d svckit --heapallindexed \
  || { echo "postgres: pg_amcheck found corruption"; exit 1; }
echo "postgres: pg_amcheck ok"
echo "crash safety: ok"
