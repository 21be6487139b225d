#!/usr/bin/env bash
# The gateway's cost per proxied request, measured without a wall clock: user-space instructions per
# request under callgrind, and heap allocations (and bytes) per request counted by the LD_PRELOAD
# shim bench/http/alloc_count.c. One upstream (nginx returning a fixed 15-byte body, run natively);
# the gateway with one route to it, one worker, wrk -t1 -c64 with keep-alive. Each figure comes from
# two runs of different lengths: the difference of their totals over the difference of their request
# counts is one request's cost, start-up and shut-down cancelled out (work that follows the clock
# rather than the requests would not cancel: the routes file is looked at once an hour here, not
# every second). Modes:
#   plain    app.middleware=false: the gateway's proxy path alone (its per-route metrics, client span
#            and trace context included: they have no switch)
#   default  the App's default middleware set as well (server metrics, a span, the request id)
#   jwt      default, on an `auth: jwt` route with one EdDSA token (verified once, then cached)
# and the peer: nginx with proxy_pass and `keepalive 64` to the same upstream, under callgrind
# (master_process off: the one process serves). Instructions leave out kernel time (syscalls, the
# loopback TCP stack), which is the same order for both proxies: a ratio of user-space instructions
# is a proxy for the ratio of CPU per request, not the ratio itself.
# usage: bench/gateway/instr.sh [BUILD_DIR]      (default build/test)
#   knobs: SHORT (2), LONG (6) seconds of load; MODES ("plain default jwt"); PEER=0 skips the nginx peer
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/test}
case $build in /*) ;; *) build="$(pwd)/$build" ;; esac
gw="$build/cmd/gateway/gateway"
[ -x "$gw" ] || { echo "no $gw: build the gateway target first"; exit 1; }
for t in valgrind nginx wrk curl; do
  command -v $t >/dev/null || { echo "$t is missing (scripts/deps.sh bench)"; exit 1; }
done
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -o "$work/alloc_count.so" bench/http/alloc_count.c
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port) px_port=$(free_port)

mkdir -p "$work/up/logs" "$work/px/logs"
cat >"$work/up/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $work/up/nginx.pid; error_log $work/up/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$up_port; location / { default_type application/json; return 200 '{"msg":"hello"}'; } } }
NGX
nginx -p "$work/up" -c "$work/up/nginx.conf" -e "$work/up/logs/error.log" &
cat >"$work/px/nginx.conf" <<NGX
master_process off; worker_processes 1; daemon off; pid $work/px/nginx.pid; error_log $work/px/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream hello { server 127.0.0.1:$up_port; keepalive 64; }
  server { listen 127.0.0.1:$px_port;
    location / { proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX

# An Ed25519 key: its public half as the gateway's JWKS, a token signed with it for wrk to send.
/usr/bin/python3 - "$work" <<'PY'
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
key = Ed25519PrivateKey.generate()
raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
open(sys.argv[1] + "/jwks.json", "w").write(json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA"}]}))
now = int(time.time())
tok = jwt.encode({"iss": "https://id.example", "aud": "svckit", "sub": "u1", "iat": now, "exp": now + 3600, "roles": ["user"]},
                 key, algorithm="EdDSA", headers={"kid": "k1", "typ": "at+jwt"})
open(sys.argv[1] + "/token", "w").write(tok)
PY
cat >"$work/routes-plain.yaml" <<YML
routes:
  - {name: hello, path: /, upstream: ['http://127.0.0.1:$up_port']}
YML
cat >"$work/routes-jwt.yaml" <<YML
routes:
  - {name: hello, path: /, upstream: ['http://127.0.0.1:$up_port'], auth: jwt}
YML
auth_flags=(--set gateway_auth.jwks_url= --set gateway_auth.jwks_file="$work/jwks.json" --set gateway_auth.issuer=https://id.example)
# (the audience stays configs/services/gateway.yaml's: svckit)

# $1: instr|allocs, $2 seconds of load, $3 routes file, $4 auth header or "", $5... extra flags
# → "requests total" (instructions, or "allocations bytes")
run_gw() {
  local kind=$1 secs=$2 routes=$3 auth=$4
  shift 4
  local port
  port=$(free_port)
  local cmd=("$gw" --config-dir configs --set http.host=127.0.0.1 --set http.port="$port" --set admin.port=0
    --set app.workers=1 --set log.level=warn --set gateway.routes_file="$routes" --set gateway.reload_interval=1h "$@")
  if [ "$kind" = instr ]; then
    rm -f "$work/cg.out"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "${cmd[@]}" >"$work/gw.log" 2>&1 &
  else
    rm -f "$work/count"
    ALLOC_COUNT_OUT=$work/count LD_PRELOAD=$work/alloc_count.so "${cmd[@]}" >"$work/gw.log" 2>&1 &
  fi
  local pid=$! hdr=()
  [ -n "$auth" ] && hdr=(-H "Authorization: Bearer $auth")
  for _ in $(seq 1200); do curl -sf -o /dev/null "${hdr[@]}" "http://127.0.0.1:$port/hello" && break; sleep 0.05; done
  curl -sf -o /dev/null "${hdr[@]}" "http://127.0.0.1:$port/hello" || { echo "gateway did not answer 200" >&2; tail -5 "$work/gw.log" >&2; exit 1; }
  local out n
  out=$(wrk -t1 -c64 -d"${secs}s" "${hdr[@]}" "http://127.0.0.1:$port/hello")
  if grep -q Non-2xx <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  n=$(awk '/requests in/{print $1}' <<<"$out")
  kill -TERM "$pid"; wait "$pid" || true
  if [ "$kind" = instr ]; then echo "$((n + 2)) $(awk '/^summary:/{print $2}' "$work/cg.out")"; else echo "$((n + 2)) $(cat "$work/count")"; fi
}

run_nginx() {  # $1 seconds → "requests instructions"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg-nginx.out" \
    nginx -p "$work/px" -c "$work/px/nginx.conf" -e "$work/px/logs/error.log" >"$work/nginx.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1200); do curl -sf -o /dev/null "http://127.0.0.1:$px_port/hello" && break; sleep 0.05; done
  local n
  n=$(wrk -t1 -c64 -d"${1}s" "http://127.0.0.1:$px_port/hello" | awk '/requests in/{print $1}')
  kill -QUIT "$pid"; wait "$pid" || true
  echo "$((n + 1)) $(awk '/^summary:/{print $2}' "$work/cg-nginx.out" 2>/dev/null || echo 0)"
}

per_request() {  # "n1 a1 [b1]" "n2 a2 [b2]" → a/request [b/request]
  awk -v x="$1" -v y="$2" 'BEGIN { split(x, p, " "); split(y, q, " "); n = q[1] - p[1]
    printf "%.0f", (q[2] - p[2]) / n; if (p[3] != "") printf " %.2f %.0f", (q[2] - p[2]) / n, (q[3] - p[3]) / n }'
}

token=$(cat "$work/token")
nginx_ipr=0
if [ "${PEER:-1}" = 1 ]; then
  read -r n1 i1 < <(run_nginx "${SHORT:-2}")
  read -r n2 i2 < <(run_nginx "${LONG:-6}")
  nginx_ipr=$(per_request "$n1 $i1" "$n2 $i2")
fi
printf '| proxy | instructions per request | vs nginx | allocations per request | bytes per request |\n'
printf '|---|---:|---:|---:|---:|\n'
printf '| nginx proxy_pass | %s | 1.00 | | |\n' "$nginx_ipr"
for mode in ${MODES:-plain default jwt}; do
  routes=$work/routes-plain.yaml auth="" flags=()
  [ "$mode" = plain ] && flags=(--set app.middleware=false)
  [ "$mode" = jwt ] && routes=$work/routes-jwt.yaml auth=$token flags=("${auth_flags[@]}")
  a=$(run_gw instr "${SHORT:-2}" "$routes" "$auth" "${flags[@]}")
  b=$(run_gw instr "${LONG:-6}" "$routes" "$auth" "${flags[@]}")
  ipr=$(per_request "$a" "$b")
  a=$(run_gw allocs "${SHORT:-2}" "$routes" "$auth" "${flags[@]}")
  b=$(run_gw allocs "${LONG:-6}" "$routes" "$auth" "${flags[@]}")
  read -r _ apr bpr <<<"$(per_request "$a" "$b")"
  awk -v m="$mode" -v i="$ipr" -v g="$nginx_ipr" -v a="$apr" -v b="$bpr" \
    'BEGIN { printf "| gateway, %s | %d | %.2f | %s | %s |\n", m, i, g ? i / g : 0, a, b }'
done
