#!/usr/bin/env bash
# make bench-platform: the identity and licence services at the request level, on SQLite and on a
# PostgreSQL 15 started here: login latency with the configured argon2id parameters (identity's
# defaults: 2 passes, 64 MiB), refresh and licence issue requests/s, licence verification requests/s
# (bench/platform/load.py, Python clients on keep-alive connections: the client is part of the figure).
# usage: bench/platform/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=$1 seconds=${2:-5}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -f "$pg/data/postmaster.pid" ] && bash "$src/scripts/pg.sh" stop "$pg" >/dev/null 2>&1
  rm -rf "$tmp" "$pg"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
cd "$src"
/usr/bin/python3 tests/license/tokens.py init "$tmp"
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/sealing.key"
common=(--config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 --set log.level=error
        --set discovery.backend=static)
"$build/cmd/user-svc/user-svc" "${common[@]}" --set db.sqlite.path="$tmp/user.db" 2>"$tmp/users.err" >/dev/null &
pids+=($!)
wait_service "$tmp/users.err" user-svc
users=$svc_url
run() {  # label identity-db-args license-db-args (each one --set)
  local label=$1 idb=$2 ldb=$3
  "$build/cmd/auth-svc/auth-svc" "${common[@]}" --set identity.users_url="$users" \
    --set identity.sealing_key_file="$tmp/sealing.key" --set identity.login_ip_burst=1000000 \
    --set identity.login_ip_rate=1000000 $4 --set "$idb" 2>"$tmp/auth.err" >/dev/null &
  local auth_pid=$!
  pids+=($auth_pid)
  wait_service "$tmp/auth.err" auth-svc
  local auth=$svc_url
  "$build/cmd/license-svc/license-svc" "${common[@]}" --set auth.jwks_url= --set auth.jwks_file="$tmp/jwks.json" \
    --set auth.issuer=https://id.test --set auth.audiences=license \
    --set license.signing_key_file="$tmp/license-key-$label.jwk" $4 --set "$ldb" 2>"$tmp/lic.err" >/dev/null &
  local lic_pid=$!
  pids+=($lic_pid)
  wait_service "$tmp/lic.err" license-svc
  /usr/bin/python3 bench/platform/load.py "$auth" "$svc_url" "$tmp" "$src" "$label" "$seconds"
  kill "$auth_pid" "$lic_pid"
  wait "$auth_pid" "$lic_pid" 2>/dev/null || true
}
run sqlite "db.sqlite.path=$tmp/identity.db" "db.sqlite.path=$tmp/license.db" ""
dsn=$(bash scripts/pg.sh start "$pg")
runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$pg" -p "$(cat "$pg/port")" -U postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE DATABASE licences OWNER svckit" >/dev/null
run postgres "db.postgres.dsn=$dsn" "db.postgres.dsn=${dsn/dbname=svckit/dbname=licences}" "--set db.driver=postgres"
