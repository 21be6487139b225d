#!/usr/bin/env bash
# `svckit new` as a newcomer meets it: svckit installed into a temp prefix (cmake --install of this
# build, as tests/install_test.sh does), then
#  1. `svckit new demo --db sqlite` and `svckit new chatty --grpc --db postgres` in a temp folder; an
#     existing folder is refused (unless --force), a bad name too;
#  2. both build against the prefix with find_package(svckit COMPONENTS ...) and their generated tests
#     pass (chatty's integration test on a PostgreSQL started here with scripts/pg.sh, when installed);
#     the time from `svckit new` to a green build is printed;
#  3. demo runs: /healthz on its admin port, the items CRUD, its OpenAPI document;
#  4. `svckit config check` and `svckit migrate status` on the generated service.
#   tests/scaffold/new_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
pg=
pid=
cleanup() {
  rc=$?
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$pg" ] && [ -d "$pg/data" ] && (cd / && bash "$src/scripts/pg.sh" stop "$pg" 2>/dev/null)
  [ $rc -eq 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -40 "$f"; done; } 2>/dev/null
  rm -rf "$tmp"
  [ -n "$pg" ] && rm -rf "$pg"
  return $rc
}
trap cleanup EXIT
fail() { echo "scaffold test: $*"; exit 1; }
expect() {  # what got want-substring
  case "$2" in *"$3"*) ;; *) fail "$1: got '$2', expected it to contain '$3'" ;; esac
}

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
svckit=$tmp/prefix/bin/svckit
test -f "$tmp/prefix/share/svckit/templates/service/CMakeLists.txt"
expect "version" "$("$svckit" version)" "templates: $tmp/prefix/share/svckit/templates"

# Generated builds hit ccache from one run of this test to the next: paths relative to $tmp.
export CCACHE_BASEDIR=$tmp CCACHE_NOHASHDIR=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
jobs=${SVCKIT_TEST_JOBS:-$(nproc)}

# 1. New services.
mkdir -p "$tmp/work"
cd "$tmp/work"
t0=$(date +%s)
"$svckit" new demo --db sqlite >"$tmp/new-demo.log"
grep -q "created demo/internal/demo/repository.cpp" "$tmp/new-demo.log"
grep -q "cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH=$tmp/prefix" "$tmp/new-demo.log"
"$svckit" new chatty --grpc --db postgres --dir "$tmp/work" >"$tmp/new-chatty.log"
test -f chatty/api/chatty/v1/chatty.proto
test -f chatty/internal/chatty/grpc_handler.cpp
test ! -e demo/api/demo/v1/demo.proto
test -x demo/tests/integration_test.sh
if grep -rq '{{' demo chatty; then grep -rn '{{' demo chatty | head; fail "unrendered placeholders"; fi
grep -q 'find_package(svckit 0.1.0 REQUIRED COMPONENTS app http db)' demo/CMakeLists.txt
grep -q 'find_package(svckit 0.1.0 REQUIRED COMPONENTS app http db db_postgres grpc)' chatty/CMakeLists.txt
grep -q '  driver: postgres' chatty/configs/base.yaml
# The generated C++ is as svckit's .clang-format writes it.
(cd demo && find . -name '*.cpp' -o -name '*.hpp' | xargs clang-format --dry-run -Werror)
(cd chatty && find . -name '*.cpp' -o -name '*.hpp' | xargs clang-format --dry-run -Werror)

# Refusals: an existing folder (nothing touched), bad names, a bad --db.
echo "// mine" >>demo/cmd/demo/main.cpp
set +e
"$svckit" new demo >"$tmp/refused.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "svckit new overwrote demo/"
grep -q "already exists" "$tmp/refused.log"
tail -1 demo/cmd/demo/main.cpp | grep -q "// mine"
for bad in Demo 1demo demo_x d demo- "$(printf 'a%.0s' {1..32})"; do
  if "$svckit" new "$bad" 2>/dev/null >&2; then fail "name '$bad' accepted"; fi
done
test ! -e Demo -a ! -e d
if "$svckit" new other --db mysql 2>/dev/null; then fail "--db mysql accepted"; fi
"$svckit" new demo --force >/dev/null  # --force writes the templates' files again
if tail -1 demo/cmd/demo/main.cpp | grep -q "// mine"; then fail "--force did not rewrite main.cpp"; fi

# Their manifests render, validate against the Kubernetes schemas and pass the platform's policy
# (tests/deploy's tools; skipped where kubectl with kustomize v5 or node is missing).
if command -v kubectl >/dev/null && command -v node >/dev/null &&
  npm_dir=$(bash "$src/tests/deploy/npm_tools.sh" 2>/dev/null); then
  for svc in demo chatty; do
    for env in dev prod; do
      kubectl kustomize --load-restrictor LoadRestrictionsNone "$svc/deploy/k8s/overlays/$env" >"$tmp/k8s.yaml" ||
        fail "kustomize $svc/$env"
      NODE_PATH="$npm_dir/node_modules" node "$src/tests/deploy/k8s_validate.js" "$tmp/k8s.yaml" >/dev/null ||
        fail "schema: $svc/$env"
      /usr/bin/python3 "$src/tests/deploy/policy.py" "$tmp/k8s.yaml" >/dev/null || fail "policy: $svc/$env"
    done
  done
  echo "scaffold test: deploy/k8s of demo and chatty render, validate and pass the policy (dev, prod)"
else
  echo "scaffold test: kubectl or node missing: manifests not checked"
fi

# 2. Build both and run their tests.
build_service() {  # name
  cmake -S "$1" -B "$1/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "${launcher[@]}" >"$tmp/$1-build.log" 2>&1
  cmake --build "$1/build" -j "$jobs" >>"$tmp/$1-build.log" 2>&1
  if grep -q 'warning:' "$tmp/$1-build.log"; then grep -A3 'warning:' "$tmp/$1-build.log" | head -20; fail "$1 builds with warnings"; fi
}
build_service demo
t_built=$(date +%s)
ctest --test-dir demo/build --output-on-failure >"$tmp/demo-ctest.log" 2>&1 || fail "demo's tests failed"
grep -q "100% tests passed, 0 tests failed out of 6" "$tmp/demo-ctest.log"
t_green=$(date +%s)
echo "scaffold test: svckit new demo -> built in $((t_built - t0)) s, tests green in $((t_green - t0)) s"

t1=$(date +%s)
build_service chatty
if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  pg=$(mktemp -d /tmp/svckit-pg.XXXXXX)  # the postgres user cannot enter $tmp (mode 700)
  dsn=$(cd / && bash "$src/scripts/pg.sh" start "$pg")  # from a folder the postgres user may enter
  CHATTY_TEST_PG_DSN=$dsn ctest --test-dir chatty/build -V >"$tmp/chatty-ctest.log" 2>&1 || fail "chatty's tests failed"
  grep -q "chatty integration: ok on postgres" "$tmp/chatty-ctest.log" ||
    fail "chatty's integration test did not run on PostgreSQL"
else
  echo "scaffold test: PostgreSQL 15 is not installed: chatty's integration test runs on SQLite only"
  ctest --test-dir chatty/build --output-on-failure >"$tmp/chatty-ctest.log" 2>&1 || fail "chatty's tests failed"
fi
echo "scaffold test: svckit new chatty --grpc --db postgres -> built and tests green in $(($(date +%s) - t1)) s"
ldd demo/build/demo | grep -Eiq 'libpq|grpc|protobuf' && fail "demo links libpq, gRPC or protobuf"

# 3. demo runs from its own folder on the ports it is given.
cd "$tmp/work/demo"
./build/demo --set http.port=0 --set admin.port=0 --set log.async=false >"$tmp/demo.log" 2>"$tmp/demo-err.log" &
pid=$!
. "$src/tests/lib.sh"
wait_service "$tmp/demo-err.log" demo
test -f data/demo.db  # the service's root, found from the binary
expect "healthz" "$(curl -s -o /dev/null -w '%{http_code}' "$admin_url/healthz")" 200
for _ in $(seq 100); do curl -sf "$admin_url/readyz" >/dev/null && break; sleep 0.05; done
expect "readyz" "$(curl -s "$admin_url/readyz")" '"db":"ok"'
json=(-H 'Content-Type: application/json')
created=$(curl -s "${json[@]}" -d '{"name":"first","description":"one"}' -w ' %{http_code}' "$svc_url/v1/items")
expect "create" "$created" '{"id":1,"name":"first","description":"one"} 201'
expect "read" "$(curl -s "$svc_url/v1/items/1")" '{"id":1,"name":"first","description":"one"}'
expect "update" "$(curl -s -X PUT "${json[@]}" -d '{"name":"second"}' "$svc_url/v1/items/1")" '{"id":1,"name":"second"'
expect "list" "$(curl -s "$svc_url/v1/items")" '{"items":[{"id":1,"name":"second","description":""}]}'
expect "delete" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$svc_url/v1/items/1")" 204
expect "deleted" "$(curl -s -w ' %{http_code}' "$svc_url/v1/items/1")" '"reason":"ITEM_NOT_FOUND","message":"item 1 not found"} 404'
expect "openapi" "$(curl -s "$svc_url/openapi.json")" '{"openapi":"3.1.0"'
# The generated document lists the example resource's routes with their schemas.
curl -s "$svc_url/openapi.json" | /usr/bin/python3 -c '
import json, sys
doc = json.load(sys.stdin)
ops = {(m, p) for p, item in doc["paths"].items() for m in item}
want = {("post", "/v1/items"), ("get", "/v1/items"), ("get", "/v1/items/{id}"), ("put", "/v1/items/{id}"),
        ("delete", "/v1/items/{id}"), ("get", "/v1/greeting"), ("get", "/openapi.json")}
assert ops == want, ops
body = doc["components"]["schemas"]["ItemInput"]
assert body["required"] == ["name"] and body["properties"]["name"]["maxLength"] == 100, body
' || { echo "FAIL openapi paths"; exit 1; }
expect "metrics" "$(curl -s "$admin_url/metrics")" 'svckit_db_queries_total{driver="sqlite"'
kill -TERM $pid
wait $pid
pid=
grep -q '"msg":"service stopped"' "$tmp/demo.log"

# chatty's gRPC API beside its HTTP one, called by Python grpcio with stubs from its own .proto.
cd "$tmp/work/chatty"
chatty_db=(--set db.driver=sqlite)
[ -n "${dsn:-}" ] && chatty_db=(--set "db.postgres.dsn=$dsn")
./build/chatty --set http.port=0 --set admin.port=0 --set grpc.port=0 --set grpc.host=127.0.0.1 \
  --set log.async=false "${chatty_db[@]}" >"$tmp/chatty.log" 2>"$tmp/chatty-err.log" &
pid=$!
wait_service "$tmp/chatty-err.log" chatty
target=$(sed -n 's/^chatty: grpc \([^ ]*\).*/\1/p' "$tmp/chatty-err.log")
[ -n "$target" ] || fail "chatty printed no gRPC address"
mkdir -p "$tmp/stubs"
protoc -I api --python_out="$tmp/stubs" --grpc_out="$tmp/stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" api/chatty/v1/chatty.proto
/usr/bin/python3 - "$tmp/stubs" "$target" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import grpc
from chatty.v1 import chatty_pb2 as pb, chatty_pb2_grpc as rpc
stub = rpc.ChattyStub(grpc.insecure_channel(sys.argv[2]))
made = stub.CreateItem(pb.CreateItemRequest(name="over grpc", description="d"), timeout=5, wait_for_ready=True)
got = stub.GetItem(pb.GetItemRequest(id=made.id), timeout=2)
assert (got.id, got.name, got.description) == (made.id, "over grpc", "d"), got
for call, code in ((lambda: stub.GetItem(pb.GetItemRequest(id=made.id + 1000), timeout=2), grpc.StatusCode.NOT_FOUND),
                   (lambda: stub.CreateItem(pb.CreateItemRequest(name=" "), timeout=2), grpc.StatusCode.INVALID_ARGUMENT)):
    try:
        call()
        sys.exit("expected %s" % code)
    except grpc.RpcError as e:
        assert e.code() == code, (e.code(), e.details())
PY
expect "chatty http" "$(curl -s "$svc_url/v1/items")" '"name":"over grpc"'
kill -TERM $pid
wait $pid
pid=
echo "scaffold test: chatty answers over gRPC (create, get, NOT_FOUND, INVALID_ARGUMENT) and HTTP"
cd "$tmp/work/demo"

# 4. The companion commands on the generated service.
out=$("$svckit" config check --env prod .)
expect "config check" "$out" "demo.greeting = Hello from demo"
expect "config check source" "$out" "configs/prod/log.yaml:"
expect "config check secret" "$out" "db.postgres.password = <redacted>"
printf 'http:\n  prot: 80\n' >configs/prod/typo.yaml
set +e
"$svckit" config check --env prod . >/dev/null 2>"$tmp/check.log"
rc=$?
set -e
[ $rc -eq 2 ] || fail "config check of a typo: exit $rc, expected 2"
grep -q "http.prot: unknown key (.*configs/prod/typo.yaml:2)" "$tmp/check.log"
rm configs/prod/typo.yaml
# The database demo ran on (configs/services/demo.yaml: data/demo.db), its migrations found.
expect "migrate status" "$("$svckit" migrate status)" "0001 items                          applied 20"
echo "scaffold test: ok"
