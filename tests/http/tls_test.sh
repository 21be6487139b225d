#!/usr/bin/env bash
# svckit's TLS listener against clients nobody here wrote (curl, Python's ssl module, openssl
# s_client): HTTP/1.1 over TLS with ALPN, old protocol versions refused, mutual TLS and the identity a
# handler sees, certificate rotation (new connections get the new certificate, an open one goes on,
# a broken replacement is refused), plaintext on the TLS port and a client that stalls mid-handshake;
# then an App (hello) with http.tls set reloading its certificate on SIGHUP.
set -euo pipefail
server=$1 src=$2 hello=${3:-}
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
py() { /usr/bin/python3 "$src/tests/http/tls_client.py" "$@"; }
bash "$src/tests/http/make_certs.sh" "$tmp/certs"
c=$tmp/certs
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

start() {  # name args...: starts a server, sets $port
  local name=$1
  shift
  "$server" "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
  port=$(head -1 "$tmp/$name.port")
  [ -n "$port" ] || { echo "$name did not start"; cat "$tmp/$name.err"; exit 1; }
}
stat_of() { curl -s --cacert "$c/ca.pem" "https://localhost:$1/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# ---- TLS, no client certificates ---------------------------------------------------------------------
mkdir "$tmp/live"
cp "$c/server.pem" "$c/server.key" "$tmp/live/"
start tls "$tmp/live/server.pem" "$tmp/live/server.key"
tls=$port
out=$(curl -sv --cacert "$c/ca.pem" "https://localhost:$tls/hello" "https://localhost:$tls/hello" 2>&1)
grep -q 'ALPN: server accepted http/1.1' <<<"$out" || { echo "curl: ALPN"; echo "$out"; exit 1; }
grep -q '< HTTP/1.1 200' <<<"$out" || { echo "curl: no HTTP/1.1 answer"; echo "$out"; exit 1; }
grep -q 'Re-using existing connection' <<<"$out" || { echo "curl: keep-alive over TLS"; echo "$out"; exit 1; }
[ "$(curl -s --cacert "$c/ca.pem" "https://127.0.0.1:$tls/whoami")" = '{"tls":true}' ]
echo "curl: ok"
py basic "$tls" "$c"

# TLS 1.1 and 1.0 are refused by the server (its protocol_version alert, and a failed handshake counted).
before=$(stat_of "$tls" handshake_failures)
py old-version "$tls" "$c"
if openssl s_client -connect "127.0.0.1:$tls" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$tmp/s11" 2>&1; then
  echo "openssl s_client: TLS 1.1 accepted"; cat "$tmp/s11"; exit 1
fi
grep -qi 'protocol version' "$tmp/s11" || { echo "s_client: no protocol_version alert"; cat "$tmp/s11"; exit 1; }
after=$(stat_of "$tls" handshake_failures)
[ "$after" -ge $((before + 2)) ] || { echo "handshake failures $before -> $after"; exit 1; }
echo "old versions refused: ok"

# Plaintext HTTP on the TLS port: closed without an HTTP answer; the server goes on.
code=0
out=$(curl -s -m 5 "http://127.0.0.1:$tls/hello") || code=$?
[ "$code" -ne 0 ] && [ "$code" -ne 28 ] || { echo "plaintext request: curl exit $code, '$out'"; exit 1; }
grep -q 'Hello' <<<"$out" && { echo "plaintext request answered"; exit 1; }
[ "$(curl -s --cacert "$c/ca.pem" "https://localhost:$tls/hello")" = '{"msg":"Hello svckit"}' ]
echo "plaintext on the TLS port: ok"

# A client stalling mid-handshake is dropped after the handshake timeout (1 s in tls_server).
py stall "$tls" "$c" 1.0
[ "$(curl -s --cacert "$c/ca.pem" "https://localhost:$tls/hello")" = '{"msg":"Hello svckit"}' ]

# ---- rotation ----------------------------------------------------------------------------------------
old=$(serial "$c/server.pem")
new=$(serial "$c/server2.pem")
[ "$(py serial "$tls" "$c" | head -1)" = "$old" ]
# A connection opened before the rotation, kept open across it.
/usr/bin/python3 - "$tls" "$c" "$tmp/keep" <<'PY' &
import http.client, ssl, sys, time, os
port, certs, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
conn.request("GET", "/hello"); r = conn.getresponse(); r.read()
serial = conn.sock.getpeercert()["serialNumber"]
open(flag + ".open", "w").write(serial)
for _ in range(200):
    if os.path.exists(flag + ".go"): break
    time.sleep(0.05)
conn.request("GET", "/hello"); r = conn.getresponse()
ok = r.status == 200 and r.read() == b'{"msg":"Hello svckit"}' and conn.sock.getpeercert()["serialNumber"] == serial
open(flag + ".done", "w").write("ok" if ok else "failed")
PY
keeper=$!
pids+=($keeper)
for _ in $(seq 100); do [ -s "$tmp/keep.open" ] && break; sleep 0.05; done
[ "$(cat "$tmp/keep.open")" = "$old" ]
cp "$c/server2.key" "$tmp/live/server.key.new" && cp "$c/server2.pem" "$tmp/live/server.pem.new"
mv "$tmp/live/server.key.new" "$tmp/live/server.key" && mv "$tmp/live/server.pem.new" "$tmp/live/server.pem"
got=
for _ in $(seq 60); do
  got=$(py serial "$tls" "$c" | head -1)
  [ "$got" = "$new" ] && break
  sleep 0.1
done
[ "$got" = "$new" ] || { echo "rotation: new connections still get $got"; exit 1; }
touch "$tmp/keep.go"
wait "$keeper"
[ "$(cat "$tmp/keep.done")" = ok ] || { echo "the connection opened before the rotation broke"; exit 1; }
[ "$(stat_of "$tls" reloads)" -ge 1 ]
# A broken replacement: refused, counted, the certificate in force still served.
echo "not a certificate" >"$tmp/live/server.pem"
for _ in $(seq 60); do [ "$(stat_of "$tls" reload_failures)" -ge 1 ] && break; sleep 0.1; done
[ "$(stat_of "$tls" reload_failures)" -ge 1 ] || { echo "broken certificate not refused"; exit 1; }
grep -q 'tls certificate reload refused' "$tmp/tls.err" || { echo "refusal not logged"; exit 1; }
[ "$(py serial "$tls" "$c" | head -1)" = "$new" ]
echo "rotation: ok"

# ---- mutual TLS --------------------------------------------------------------------------------------
start mtls "$c/server.pem" "$c/server.key" "$c/ca.pem" require
mtls=$port
py mtls "$mtls" "$c" "$(serial "$c/client.pem")"
code=0
curl -s -o /dev/null --cacert "$c/ca.pem" "https://localhost:$mtls/whoami" || code=$?
[ "$code" -ne 0 ] || { echo "curl without a client certificate got an answer"; exit 1; }
out=$(curl -s --cacert "$c/ca.pem" --cert "$c/client.pem" --key "$c/client.key" "https://localhost:$mtls/whoami")
grep -q '"uris":\["spiffe://svckit.test/ns/gov/sa/orders"\]' <<<"$out" || { echo "curl mTLS: $out"; exit 1; }
echo "mutual TLS: ok"

# ---- an App: http.tls from configuration, the certificate reloaded on SIGHUP -------------------------
if [ -n "$hello" ]; then
  mkdir "$tmp/app"
  cp "$c/server.pem" "$c/server.key" "$tmp/app/"
  "$hello" --config-dir "$src/configs" --set log.async=false --set http.port=0 --set http.host=127.0.0.1 \
    --set admin.port=0 --set http.tls.cert_file="$tmp/app/server.pem" --set http.tls.key_file="$tmp/app/server.key" \
    --set http.tls.reload_interval=0s >"$tmp/hello.out" 2>"$tmp/hello.err" &
  pids+=($!)
  hello_pid=$!
  . "$src/tests/lib.sh"
  wait_service "$tmp/hello.err" hello
  case "$svc_url" in https://*) ;; *) echo "hello serves $svc_url, not https"; exit 1 ;; esac
  app_port=${svc_url##*:}
  [ "$(py serial "$app_port" "$c" | head -1)" = "$old" ]
  cp "$c/server2.key" "$tmp/app/server.key" && cp "$c/server2.pem" "$tmp/app/server.pem"
  sleep 0.5
  [ "$(py serial "$app_port" "$c" | head -1)" = "$old" ] || { echo "reloaded without SIGHUP (reload_interval 0)"; exit 1; }
  kill -HUP "$hello_pid"
  got=
  for _ in $(seq 50); do
    got=$(py serial "$app_port" "$c" | head -1)
    [ "$got" = "$new" ] && break
    sleep 0.1
  done
  [ "$got" = "$new" ] || { echo "SIGHUP: still $got"; cat "$tmp/hello.err"; exit 1; }
  kill -0 "$hello_pid"  # SIGHUP did not stop it
  echo "App SIGHUP reload: ok"
fi
echo "http tls test: ok"
