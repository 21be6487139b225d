#!/usr/bin/env bash
# Builds gRPC-Go's echo server (bench/grpc/go/echo-server) offline, in GOPATH mode, from Debian's Go
# source packages only (GOPROXY=off): the peer that bench/grpc/run.sh measures svckit against, and that
# tests/bench/grpc_go_peer_test.sh checks builds and answers on a machine set up by scripts/deps.sh.
# usage: bench/grpc/build_go_peer.sh OUT_DIR      → OUT_DIR/echo-server
set -euo pipefail
out=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
export GO111MODULE=off GOPATH=/usr/share/gocode:$out/gopath GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
export GOCACHE=${GOCACHE:-/tmp/svckit-bench-grpc/gocache}
gen=$out/gopath/src/svckit.dev/bench/echopb
mkdir -p "$gen"
go build -o "$out/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$out/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
protoc -I "$src/bench/grpc" --plugin=protoc-gen-go="$out/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$out/protoc-gen-go-grpc" --go_out=paths=source_relative:"$gen" \
  --go-grpc_out=paths=source_relative:"$gen" "$src/bench/grpc/echo.proto"
(cd "$src/bench/grpc/go/echo-server" && go build -o "$out/echo-server" .)
