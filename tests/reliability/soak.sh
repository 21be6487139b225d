#!/usr/bin/env bash
# Soak (docs/reliability.md): user-svc under a mixed read/write load at half its capacity, open loop,
# on SQLite and on a PostgreSQL 15 started here. The load is tests/reliability/soakload (Go's net/http):
# capacity is what it reaches closed loop (16 workers) on this machine; the rules are soak_check.py's.
# usage: soak.sh BUILD_DIR SRC_DIR [SECONDS_PER_DATABASE]   (make test: 90 s each; make soak: 1800 s)
#   SOAK_DATABASES="sqlite" (or "postgres") soaks one of the two.
set -euo pipefail
build=$1 src=$2 seconds=${3:-90}
PY=/usr/bin/python3
tmp=$(mktemp -d)
pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)
pid=
cleanup() {
  rc=$?
  set +e
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -f "$pg/data/postmaster.pid" ] && bash "$src/scripts/pg.sh" stop "$pg" >/dev/null 2>&1
  [ $rc -eq 0 ] || { echo "--- user-svc stderr"; tail -5 "$tmp/err"; }
  rm -rf "$tmp" "$pg"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"
cd "$src"
export GO111MODULE=off GOPATH="$tmp/gopath" GOPROXY=off GOFLAGS= GOCACHE="${GOCACHE_DIR:-$tmp/gocache}" GOTOOLCHAIN=local
go build -o "$tmp/soakload" tests/reliability/soakload/main.go

soak() {  # label db-args...
  local label=$1
  shift
  "$build/cmd/user-svc/user-svc" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 \
    --set admin.port=0 --set log.level=warn --set http.access_log=false --set discovery.backend=static "$@" \
    >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  wait_service "$tmp/err" user-svc
  local cap rate
  cap=$("$tmp/soakload" capacity "$svc_url" 5)
  rate=$((cap / 2))
  echo "$label: capacity $cap requests/s closed loop; soaking at $rate/s for $seconds s"
  "$tmp/soakload" run "$svc_url" "$pid" "$rate" "$seconds" "$tmp/$label.json"
  kill -0 "$pid" || { echo "$label: user-svc died"; exit 1; }
  [ -z "${SOAK_KEEP:-}" ] || cp "$tmp/$label.json" "$SOAK_KEEP/"  # before the check: a failed run's samples too
  echo -n "$label: "
  $PY tests/reliability/soak_check.py "$tmp/$label.json"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

databases=" ${SOAK_DATABASES:-sqlite postgres} "
[[ $databases == *" sqlite "* ]] && soak sqlite --set db.sqlite.path="$tmp/user.db"
if [[ $databases == *" postgres "* ]]; then
  dsn=$(bash scripts/pg.sh start "$pg")
  soak postgres --set db.driver=postgres --set "db.postgres.dsn=$dsn"
fi
echo "soak: ok"
