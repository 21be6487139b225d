#!/usr/bin/env bash
# The web portal in a real browser, through the gateway: the gateway, identity (auth-svc), the user
# centre and license-svc started as scripts/run.sh starts them (a file registry, free ports, SQLite in
# a temporary folder, a bootstrap clerk), and headless Chromium (Debian's, driven by playwright-core)
# going through the citizen's, the clerk's and the verifier's journeys (portal.mjs). The QR code is
# read back from Chromium's screenshot with zbarimg. Screenshots land in ./screenshots of the test's
# working directory (build/test/tests/portal).
# usage: portal_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
out=$PWD/screenshots
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for f in "$tmp"/*.err; do echo "--- $f"; tail -15 "$f"; done 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
command -v chromium >/dev/null || { echo "chromium is missing: scripts/deps.sh test"; exit 1; }
command -v zbarimg >/dev/null || { echo "zbarimg is missing: scripts/deps.sh test"; exit 1; }
SVCKIT_BROWSER_MODULES=$(bash "$src/tests/browser/npm_tools.sh")
export SVCKIT_BROWSER_MODULES

base=$(free_port_block 10)
gw=http://127.0.0.1:$base
data=$tmp/data
mkdir -p "$data/registry" "$data/identity"
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$data/identity/sealing.key"
clerk_pw="clerk-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
cat >"$data/identity/bootstrap.json" <<JSON
{"accounts": [
  {"email": "admin@gov.example", "password": "admin-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')", "name": "Platform Admin", "roles": ["admin"]},
  {"email": "clerk@gov.example", "password": "$clerk_pw", "name": "Licence Clerk", "roles": ["clerk"],
   "authority": "Demo Market Supervision Bureau"}
]}
JSON
registry=(--set discovery.backend=file --set "discovery.file.dir=$data/registry" --set log.level=warn)
cd "$src"  # the services' relative paths (migrations, configs) as under make run
start() {  # name http_port admin_port binary args...
  local name=$1 http=$2 admin=$3 bin=$4
  shift 4
  "$bin" --set http.port="$http" --set admin.port="$admin" "${registry[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
}
start gateway "$base" $((base + 1)) "$build/cmd/gateway/gateway" --set "gateway_auth.issuer=$gw"
start user-svc $((base + 4)) $((base + 5)) "$build/cmd/user-svc/user-svc" --set "db.sqlite.path=$data/user.db"
start auth-svc $((base + 6)) $((base + 7)) "$build/cmd/auth-svc/auth-svc" --set "db.sqlite.path=$data/identity.db" \
  --set "identity.sealing_key_file=$data/identity/sealing.key" --set "identity.bootstrap_file=$data/identity/bootstrap.json" \
  --set "identity.issuer=$gw" --set identity.argon2_ops=1 --set identity.argon2_memory=4MiB
start license-svc $((base + 8)) $((base + 9)) "$build/cmd/license-svc/license-svc" \
  --set "db.sqlite.path=$data/license.db" --set "license.signing_key_file=$data/license-signing-key.jwk" \
  --set "auth.issuer=$gw"

# Up once the clerk can sign in through the gateway and the gateway checks her token on /v1/licenses.
ready=0
for _ in $(seq 300); do
  tok=$(curl -s -m 2 -X POST "$gw/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"clerk@gov.example\",\"password\":\"$clerk_pw\"}" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))' 2>/dev/null || true)
  if [ -n "$tok" ] && [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$gw/v1/licenses" -H "Authorization: Bearer $tok")" = 200 ]; then
    ready=1; break
  fi
  sleep 0.2
done
[ $ready = 1 ] || { echo "the platform did not come up at $gw"; exit 1; }

rm -rf "$out"
node "$src/tests/portal/portal.mjs" "$gw" "$clerk_pw" "$out"
