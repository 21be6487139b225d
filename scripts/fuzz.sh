#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60)
# from the checked-in seed corpus. New inputs go to build/fuzz/corpus/, never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
bash scripts/deps.sh fuzz
out=build/fuzz
mkdir -p "$out/corpus/http_parser"
clang++ -std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ipkg \
  pkg/svckit/http/parser_fuzz.cpp pkg/svckit/http/parser.cpp -o "$out/http_parser_fuzz"
cp -n tests/fuzz/corpus/http_parser/* "$out/corpus/http_parser/" 2>/dev/null || true
"$out/http_parser_fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
  "$out/corpus/http_parser" tests/fuzz/corpus/http_parser 2>&1 | tail -15
echo "fuzz: http_parser ran ${seconds}s without a finding"
