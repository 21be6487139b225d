#!/usr/bin/env bash
# HTTP/1.1 conformance to RFC 9112 and RFC 9110 (docs/reliability.md): the cases of
# tests/reliability/http_conformance.py, written from the RFCs' MUST statements, against svckit's server
# (tests/http/test_server.cpp) and, with the same bytes, against Debian's nginx serving the same routes.
# Fails when svckit fails a case; nginx's deviations are printed, not fatal.
# usage: http_conformance.sh BUILD_DIR SRC_DIR [--markdown]
set -euo pipefail
build=$1 src=$2
shift 2
PY=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
  rc=$?
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ $rc -eq 0 ] || { echo "--- svckit stderr"; tail -5 "$tmp/svckit.err"; echo "--- nginx error log"; tail -5 "$tmp/nginx/logs/error.log" 2>/dev/null; }
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
. "$src/tests/lib.sh"

"$build/tests/http_test_server" >"$tmp/port" 2>"$tmp/svckit.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
svckit_port=$(head -1 "$tmp/port")
[ -n "$svckit_port" ] || { echo "the svckit test server did not start"; exit 1; }

servers=("svckit=$svckit_port")
if command -v nginx >/dev/null; then
  # The same routes as the test server: /rfc answers "METHOD host path", /hello, /cache (a static file,
  # 304 on If-None-Match: *), /nocontent (204).
  pre=$tmp/nginx
  mkdir -p "$pre/conf" "$pre/logs" "$pre/tmp" "$pre/www"
  printf 'cached\n' >"$pre/www/cache"
  nginx_port=$(free_port_block 1)
  cat >"$pre/conf/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $pre/nginx.pid;
error_log $pre/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $pre/tmp/body; proxy_temp_path $pre/tmp/proxy; fastcgi_temp_path $pre/tmp/fcgi;
  uwsgi_temp_path $pre/tmp/uwsgi; scgi_temp_path $pre/tmp/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /rfc { default_type text/plain; return 200 "\$request_method \$host \$uri\n"; }
    location = /hello { default_type application/json; return 200 '{"msg":"Hello svckit"}'; }
    location = /cache { root $pre/www; default_type text/plain; }
    location = /nocontent { return 204; }
  }
}
EOF
  nginx -p "$pre" -c "$pre/conf/nginx.conf" -e "$pre/logs/error.log" &
  pids+=($!)
  for _ in $(seq 100); do
    $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $nginx_port), 0.2)" 2>/dev/null && break
    sleep 0.05
  done
  servers+=("nginx=$nginx_port")
  echo "nginx: $(nginx -v 2>&1)"
else
  echo "nginx not installed (scripts/deps.sh test group): svckit alone"
fi

$PY "$src/tests/reliability/http_conformance.py" "${servers[@]}" --gate svckit "$@"
