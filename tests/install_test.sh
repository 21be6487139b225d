#!/usr/bin/env bash
# Installs svckit from a build tree into a temp prefix and builds + runs a consumer against it.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/svckit/core/runtime.hpp"
test ! -e "$tmp/prefix/include/svckit/core/runtime_test.cpp"
cmake -S "$src/tests/consumer" -B "$tmp/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
out=$("$tmp/consumer/consumer")
echo "$out"
grep -q '"msg":"consumer ran"' <<<"$out"
grep -q '"answer":42' <<<"$out"
echo "install test: ok"
