#!/usr/bin/env bash
# svckit as an outside project meets it: installed into a temp prefix (cmake --install), found with
# find_package(svckit COMPONENTS ...), each component needing only its own third-party packages.
#  1. core + log with gRPC, protobuf and every pkg-config package hidden: configures, builds, runs;
#     asking for db in that state fails (so the hiding is real).
#  2. bookshelf (tests/consumer/books): HTTP + JSON + query binding + SQLite with a migration through
#     App::database + a config key + a deadline, with gRPC, protobuf and libpq hidden. Its binary
#     links none of them; it is started from another folder, exercised over HTTP (happy path,
#     validation, not found, a deadline against a held write lock, metrics, a trace with a db span),
#     and stopped with SIGTERM.
#  3. inventory (tests/consumer/inventory): a gRPC-only service whose stubs come from the installed
#     svckit_proto_library(), a unary and a coroutine server-streaming method on SQLite, called by
#     Python grpcio with deadlines; health follows readiness; no HTTP traffic port.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
pid=
trap 'rc=$?; [ -n "$pid" ] && kill $pid 2>/dev/null; [ $rc -eq 0 ] || { cat "$tmp"/*.log 2>/dev/null | tail -50; }; rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/svckit/core/runtime.hpp"
test ! -e "$tmp/prefix/include/svckit/core/runtime_test.cpp"
# Internals and test helpers are not installed.
test ! -e "$tmp/prefix/include/svckit/http/detail"
test ! -e "$tmp/prefix/include/svckit/db/detail/observe.hpp"
test ! -e "$tmp/prefix/include/svckit/testing"
test ! -e "$tmp/prefix/include/svckit/http/detail"
# Except what service.hpp's templates are defined in: they compile in the user's code.
test -f "$tmp/prefix/include/svckit/grpc/detail/reactors.hpp"
test ! -e "$tmp/prefix/include/svckit/grpc/detail/server_state.hpp"
test -f "$tmp/prefix/lib/cmake/svckit/SvckitGrpc.cmake"

# Hidden: gRPC and protobuf CMake packages, and pkg-config's whole search path except what is
# copied into $tmp/pc.
mkdir -p "$tmp/pc"
hide=(-DCMAKE_DISABLE_FIND_PACKAGE_gRPC=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_Protobuf=TRUE)
configure() {  # source build [cmake args...]
  local s=$1 b=$2
  shift 2
  PKG_CONFIG_LIBDIR="$tmp/pc" PKG_CONFIG_PATH= cmake -S "$s" -B "$b" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    "${hide[@]}" "$@"
}

# 1. core + log.
configure "$src/tests/consumer" "$tmp/consumer" >"$tmp/consumer.log" 2>&1
cmake --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1
out=$("$tmp/consumer/consumer")
grep -q '"msg":"consumer ran"' <<<"$out"
grep -q '"answer":42' <<<"$out"
# The same state cannot give svckit::db (no sqlite3.pc): the hiding above is real.
mkdir -p "$tmp/needs-db"
cat > "$tmp/needs-db/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(needs_db LANGUAGES CXX)
find_package(svckit REQUIRED COMPONENTS db)
CM
if configure "$tmp/needs-db" "$tmp/needs-db-build" >"$tmp/needs-db.log" 2>&1; then
  echo "find_package(svckit COMPONENTS db) configured without sqlite3.pc: the dependency hiding does not work"
  exit 1
fi
grep -q "sqlite3" "$tmp/needs-db.log"
echo "install test: core+log consumer ok without gRPC, protobuf, libpq or SQLite packages"

# 2. bookshelf: SQLite's .pc only.
cp "$(pkg-config --variable=pcfiledir sqlite3)/sqlite3.pc" "$tmp/pc/"
cp -r "$src/tests/consumer/books" "$tmp/books"
configure "$tmp/books" "$tmp/books-build" -DCMAKE_BUILD_TYPE=Release >"$tmp/books-build.log" 2>&1
start=$(date +%s)
cmake --build "$tmp/books-build" >>"$tmp/books-build.log" 2>&1
echo "install test: bookshelf built in $(( $(date +%s) - start )) s"
bin=$tmp/books-build/bookshelf
if ldd "$bin" | grep -Ei 'libpq|grpc|protobuf'; then
  echo "bookshelf links libraries it does not use"; exit 1
fi
echo "install test: bookshelf links $(ldd "$bin" | wc -l) shared libraries, none of libpq, gRPC or protobuf"

. "$src/tests/lib.sh"
mkdir -p "$tmp/elsewhere"
cd "$tmp/elsewhere"
# Driver postgres without svckit::db_postgres linked: refused with the reason.
set +e
"$bin" --config-dir "$tmp/books/configs" --set db.driver=postgres --set http.port=0 --set admin.port=0 \
  >"$tmp/refused.log" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || { echo "expected exit 2 for driver postgres, got $rc"; exit 1; }
grep -q "svckit::db_postgres" "$tmp/refused.log"

"$bin" --config-dir "$tmp/books/configs" --set http.port=0 --set admin.port=0 --set log.async=false \
  >"$tmp/books.log" 2>"$tmp/books.err" &
pid=$!
wait_service "$tmp/books.err" bookshelf
test -f "$tmp/books/data/books.db"   # under the service's root, not the working directory
test ! -e "$tmp/elsewhere/data"

metric() {  # series -> its value on /metrics (0 when absent)
  curl -s "$admin_url/metrics" | awk -v s="$1" 'index($0, s " ") == 1 { v = $2 } END { print v + 0 }'
}
inserts_before=$(metric 'svckit_db_queries_total{driver="sqlite",operation="INSERT",code="OK"}')
req() {  # method path [body] -> "status body"
  local m=$1 p=$2 body=${3:-}
  if [ -n "$body" ]; then
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' -d "$body" "$svc_url$p"
  else
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" "$svc_url$p"
  fi
  printf ' %s' "$(cat "$tmp/body")"
}
expect() {  # what got want-substring
  case "$2" in *"$3"*) ;; *) echo "$1: got '$2', expected it to contain '$3'"; exit 1 ;; esac
}
expect "create" "$(req POST /v1/books '{"title":"The Dispossessed","author":"Ursula K. Le Guin","year":1974}')" \
  '201 {"id":1,"title":"The Dispossessed","author":"Ursula K. Le Guin","year":1974}'
expect "create 2" "$(req POST /v1/books '{"title":"Dune","author":"Frank Herbert","year":1965}')" '201 {"id":2'
expect "validation" "$(req POST /v1/books '{"title":"","year":5000}')" '400 {"code":"INVALID_ARGUMENT"'
expect "validation paths" "$(cat "$tmp/body")" '"year":"must be between 0 and 3000"'
expect "validation paths" "$(cat "$tmp/body")" '"author":"is required"'
expect "get" "$(req GET /v1/books/2)" '200 {"id":2,"title":"Dune","author":"Frank Herbert","year":1965}'
expect "not found" "$(req GET /v1/books/99)" '404 {"code":"NOT_FOUND","reason":"BOOK_NOT_FOUND","message":"book 99 not found"}'
expect "bad id" "$(req GET /v1/books/abc)" '400'
expect "list" "$(req GET '/v1/books?author=Ursula%20K.%20Le%20Guin')" '200 [{"id":1,"title":"The Dispossessed"'
expect "list limit" "$(req GET '/v1/books?author=x&limit=ten')" '"limit":"must be an integer"'

# The deadline (shelf.db_timeout 300 ms) bounds the wait for SQLite's write lock held by another process.
/usr/bin/python3 - "$tmp/books/data/books.db" "$tmp/locked" <<'PY' &
import sqlite3, sys, time, pathlib
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
pathlib.Path(sys.argv[2]).touch()
time.sleep(3)
c.execute("ROLLBACK")
PY
locker=$!
for _ in $(seq 100); do [ -e "$tmp/locked" ] && break; sleep 0.05; done
t0=$(date +%s%N)
expect "deadline" "$(req POST /v1/books '{"title":"Blocked","author":"Nobody","year":2000}')" '504 {"code":"DEADLINE_EXCEEDED"'
took=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $took -lt 2000 ] || { echo "the write waited ${took} ms for the lock (deadline 300 ms)"; exit 1; }
wait $locker
expect "after the lock" "$(req POST /v1/books '{"title":"Unblocked","author":"Nobody","year":2001}')" '201 {"id":3'

inserts=$(metric 'svckit_db_queries_total{driver="sqlite",operation="INSERT",code="OK"}')
[ $((inserts - inserts_before)) -eq 3 ] || { echo "db metrics: $inserts_before -> $inserts INSERTs, expected 3 more"; exit 1; }
[ "$(metric 'svckit_db_queries_total{driver="sqlite",operation="INSERT",code="DEADLINE_EXCEEDED"}')" -eq 1 ]
traces=$(curl -s "$admin_url/debug/traces")
expect "http span" "$traces" '"name":"POST /v1/books"'
expect "db span" "$traces" '"key":"db.system","value":{"stringValue":"sqlite"}'
expect "readiness" "$(curl -s "$admin_url/readyz")" '"db":"ok"'

kill -TERM $pid
wait $pid
pid=
grep -q '"msg":"service stopped"' "$tmp/books.log"
echo "install test: bookshelf ok"

# 3. inventory, with gRPC and protobuf found as usual.
cp -r "$src/tests/consumer/inventory" "$tmp/inventory"
cmake -S "$tmp/inventory" -B "$tmp/inventory-build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/inventory-build.log" 2>&1
start=$(date +%s)
cmake --build "$tmp/inventory-build" >>"$tmp/inventory-build.log" 2>&1
echo "install test: inventory built in $(( $(date +%s) - start )) s"
if ldd "$tmp/inventory-build/inventory" | grep -i 'libpq'; then echo "inventory links libpq"; exit 1; fi
mkdir -p "$tmp/stubs"
protoc -I "$tmp/inventory/api" -I "$src/tests/chat" --python_out="$tmp/stubs" --grpc_out="$tmp/stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$tmp/inventory/api/inventory/v1/inventory.proto" \
  "$src/tests/chat/health.proto"
"$tmp/inventory-build/inventory" --config-dir "$tmp/inventory/configs" --set grpc.port=0 --set admin.port=0 \
  --set log.async=false --set admin.readiness_interval=50ms >"$tmp/inventory.log" 2>"$tmp/inventory.err" &
pid=$!
wait_service "$tmp/inventory.err" inventory
[ -z "$svc_url" ] || { echo "inventory opened an HTTP traffic port: $svc_url"; exit 1; }
target=$(sed -n 's/^inventory: grpc \([^ ]*\).*/\1/p' "$tmp/inventory.err")
[ -n "$target" ] || { echo "inventory printed no gRPC address"; cat "$tmp/inventory.err"; exit 1; }
/usr/bin/python3 - "$tmp/stubs" "$target" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
import grpc
from inventory.v1 import inventory_pb2 as pb, inventory_pb2_grpc as rpc
import health_pb2, health_pb2_grpc
channel = grpc.insecure_channel(sys.argv[2])
health = health_pb2_grpc.HealthStub(channel)
for _ in range(100):
    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
        break
    time.sleep(0.05)
else:
    sys.exit("health never said SERVING")
stub = rpc.InventoryStub(channel)
item = stub.GetItem(pb.GetItemRequest(id=3), timeout=0.2)
assert (item.id, item.name, item.quantity) == (3, "washer", 7), item
try:
    stub.GetItem(pb.GetItemRequest(id=99), timeout=0.2)
    sys.exit("GetItem(99) did not fail")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.NOT_FOUND, e
    assert "item 99 not found" in e.details(), e.details()
names = [i.name for i in stub.ListItems(pb.ListItemsRequest(min_quantity=2), timeout=0.5)]
assert names == ["bolt", "washer", "gear"], names
print("inventory: unary, streaming, NOT_FOUND and health as expected")
PY
kill -TERM $pid
wait $pid
pid=
grep -q '"msg":"service stopped"' "$tmp/inventory.log"
echo "install test: ok"
