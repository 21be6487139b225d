#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60)
# from the checked-in seed corpus. New inputs go to build/fuzz/corpus/, never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
bash scripts/deps.sh fuzz
out=build/fuzz
# clang 16 implements what libstdc++ 12 needs for std::expected but still reports C++20 concepts as
# 201907; the define lets <expected> see it.
flags=(-std=c++2b -Wno-macro-redefined -D__cpp_concepts=202002L -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ipkg)
# target name, sources
run_target() {
  local name=$1
  shift
  mkdir -p "$out/corpus/$name" "tests/fuzz/corpus/$name"
  clang++-16 "${flags[@]}" "$@" pkg/svckit/core/status.cpp -o "$out/${name}_fuzz"
  cp -n "tests/fuzz/corpus/$name"/* "$out/corpus/$name/" 2>/dev/null || true
  "$out/${name}_fuzz" -artifact_prefix="$out/" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    "$out/corpus/$name" "tests/fuzz/corpus/$name" 2>&1 | tail -15
  echo "fuzz: $name ran ${seconds}s without a finding"
}
run_target http_parser pkg/svckit/http/parser_fuzz.cpp pkg/svckit/http/parser.cpp
json=(pkg/svckit/json/{reader,json,type_schema}.cpp)
run_target json pkg/svckit/json/json_fuzz.cpp "${json[@]}"
run_target dns_message pkg/svckit/discovery/dns_fuzz.cpp pkg/svckit/discovery/detail/dns_message.cpp
run_target auth_token pkg/svckit/auth/auth_fuzz.cpp pkg/svckit/auth/{base64url,key,jwk,key_set,claims,jws,verifier}.cpp \
  "${json[@]}" pkg/svckit/core/{context,frame_pool,runtime}.cpp -lcrypto
