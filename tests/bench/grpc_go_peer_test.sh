#!/usr/bin/env bash
# The gRPC-Go peer of make bench-grpc builds offline from the Go packages scripts/deps.sh installs, and
# answers: a unary echo and a stream of three, from Python grpcio. (Without Debian's protobuf 1.5 Go
# API the peer built against 1.3 and panicked at its first call.)
set -euo pipefail
src=$1
tmp=$(mktemp -d)
pid=
trap 'rc=$?; [ -n "$pid" ] && kill $pid 2>/dev/null; [ $rc -eq 0 ] || cat "$tmp/build.log" "$tmp/server.log" 2>/dev/null | tail -40; rm -rf "$tmp"' EXIT
. "$src/tests/lib.sh"
GOCACHE=${GOCACHE:-/tmp/svckit-gocache} bash "$src/bench/grpc/build_go_peer.sh" "$tmp/go" >"$tmp/build.log" 2>&1
port=$(free_port)
"$tmp/go/echo-server" -port "$port" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/server.log" && break; sleep 0.05; done
grep -q "listening on" "$tmp/server.log"
mkdir -p "$tmp/stubs"
protoc -I "$src/bench/grpc" --python_out="$tmp/stubs" --grpc_out="$tmp/stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" "$src/bench/grpc/echo.proto"
/usr/bin/python3 - "$tmp/stubs" "127.0.0.1:$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import grpc
import echo_pb2 as pb, echo_pb2_grpc as rpc
stub = rpc.EchoStub(grpc.insecure_channel(sys.argv[2]))
m = stub.Unary(pb.EchoMessage(payload=b"ping", seq=7), timeout=5)
assert (m.payload, m.seq) == (b"ping", 7), m
got = [r.seq for r in stub.Stream(iter([pb.EchoMessage(seq=i) for i in range(3)]), timeout=5)]
assert got == [0, 1, 2], got
print("grpc-go peer: unary and stream echoed")
PY
kill $pid
wait $pid 2>/dev/null || true
pid=
