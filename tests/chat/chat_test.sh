#!/usr/bin/env bash
# chat-svc with clients nobody here wrote: Python grpcio (stubs from protoc + grpc_python_plugin) and
# Node @grpc/grpc-js (from npm); the 1,000-stream load test; a clean end of open streams at SIGTERM.
set -euo pipefail
bin=$1 src=$2
PY=/usr/bin/python3
tmp=$(mktemp -d)
pid=
cleanup() {
  rc=$?
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ $rc -eq 0 ] || { echo "--- chat-svc stderr"; tail -20 "$tmp/err"; echo "--- stdout"; grep -v '"level":"info"' "$tmp/out" | tail -10; }
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/lib.sh"
mkdir -p "$tmp/stubs"
protoc -I "$src/api" --python_out="$tmp/stubs" --grpc_out="$tmp/stubs" --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" \
  "$src/api/chat/v1/chat.proto"
protoc -I "$src/tests/chat" --python_out="$tmp/stubs" --grpc_out="$tmp/stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$src/tests/chat/health.proto" \
  "$src/tests/chat/reflection.proto"

rooms=general,random,room0,room1,room2,room3,room4,room5,room6,room7,room8,room9
# Tokens as identity makes them, from a key made here (tests/license/tokens.py): its JWKS is the
# service's key source.
$PY "$src/tests/license/tokens.py" init "$tmp"
"$bin" --config-dir "$src/configs" --set http.port=0 --set http.host=127.0.0.1 --set admin.port=0 \
  --set grpc.port=0 --set grpc.host=127.0.0.1 --set log.level=warn --set chat.rooms=$rooms \
  --set auth.jwks_url= --set auth.jwks_file="$tmp/jwks.json" --set auth.issuer=https://id.test \
  --set auth.audiences=license >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait_service "$tmp/err" chat-svc
target=$(sed -n 's/^chat-svc: grpc \([^ ]*\).*/\1/p' "$tmp/err")

$PY "$src/tests/chat/chat_test.py" "$tmp/stubs" "$target" "$admin_url"
$PY "$src/tests/chat/token_test.py" "$tmp/stubs" "$target" "$tmp" "$src"
# A client of the seed's bare contract (no room, no JOIN), stubs from that contract alone.
mkdir -p "$tmp/seed"
protoc -I "$src/tests/chat/seed" --python_out="$tmp/seed" --grpc_out="$tmp/seed" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$src/tests/chat/seed/chat.proto"
$PY "$src/tests/chat/seed_client_test.py" "$tmp/seed" "$target"
$PY "$src/tests/chat/load_test.py" "$tmp/stubs" "$target" "$admin_url"

# Node's grpc-js, installed from npm into a cache folder once.
npm_cache=${SVCKIT_NPM_CACHE:-/tmp/svckit-npm-grpc}
if [ ! -d "$npm_cache/node_modules/@grpc/grpc-js" ]; then
  mkdir -p "$npm_cache"
  (cd "$npm_cache" && npm init -y >/dev/null 2>&1 && \
    timeout 300 npm install --no-audit --no-fund --loglevel=error @grpc/grpc-js@1.9 @grpc/proto-loader@0.7 >/dev/null)
fi
NODE_PATH="$npm_cache/node_modules" timeout 120 node "$src/tests/chat/node_client.js" "$src/api" "$src/tests/chat" "$target"

# SIGTERM with a stream open: the client sees UNAVAILABLE ("server shutting down"), the process exits 0.
$PY - "$tmp/stubs" "$target" "$pid" <<'PY'
import os, signal, sys, threading, time
sys.path.insert(0, sys.argv[1])
import grpc
from chat.v1 import chat_pb2 as pb, chat_pb2_grpc as rpc
stub = rpc.ChatServiceStub(grpc.insecure_channel(sys.argv[2]))
stop = threading.Event()
def gen():
    yield pb.ChatMessage(user_id="last", room="general", kind=pb.ChatMessage.KIND_JOIN)
    stop.wait(30)
call = stub.BidirectionalChat(gen())
code = None
try:
    for m in call:
        if m.kind == pb.ChatMessage.KIND_JOIN and m.user_id == "last":
            os.kill(int(sys.argv[3]), signal.SIGTERM)
except grpc.RpcError as e:
    code, details = e.code(), e.details()
stop.set()
if code != grpc.StatusCode.UNAVAILABLE or "shutting down" not in details:
    print(f"shutdown: stream ended with {code}")
    sys.exit(1)
print("shutdown: the open stream ended with UNAVAILABLE")
PY
# The process must exit within the stop sequence's bound, not hang.
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "chat-svc still running 60 s after SIGTERM"; exit 1; fi
wait "$pid"
pid=
echo "chat-svc test: ok"
