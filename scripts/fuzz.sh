#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for FUZZ_SECONDS (default 60)
# from the checked-in seed corpus. New inputs go to build/fuzz/corpus/, never into the repository.
# FUZZ_TARGETS="router config" runs only those. A smoke run (FUZZ_SECONDS under 60, as CI's 30) gives
# the targets after the first four 5 s each, so that CI stays within a few minutes; 60 s and more is
# the budget of every target (FUZZ_SECONDS=3600: one CPU-hour each, one target at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
short=$seconds
((seconds < 60 && short > 5)) && short=5
only=" ${FUZZ_TARGETS:-} "
bash scripts/deps.sh fuzz
out=build/fuzz
# clang 16 implements what libstdc++ 12 needs for std::expected but still reports C++20 concepts as
# 201907; the define lets <expected> see it.
flags=(-std=c++2b -Wno-macro-redefined -D__cpp_concepts=202002L -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ipkg)
# target name, seconds, sources (and libraries)
run_target() {
  local name=$1 budget=$2
  shift 2
  if [[ "$only" != "  " && "$only" != *" $name "* ]]; then return 0; fi
  mkdir -p "$out/corpus/$name" "tests/fuzz/corpus/$name"
  clang++-16 "${flags[@]}" "$@" pkg/svckit/core/status.cpp -o "$out/${name}_fuzz"
  cp -n "tests/fuzz/corpus/$name"/* "$out/corpus/$name/" 2>/dev/null || true
  "$out/${name}_fuzz" -artifact_prefix="$out/" -max_total_time="$budget" -max_len=4096 -print_final_stats=1 \
    "$out/corpus/$name" "tests/fuzz/corpus/$name" 2>&1 | tail -15
  echo "fuzz: $name ran ${budget}s without a finding"
}
json=(pkg/svckit/json/{reader,json,type_schema}.cpp)
run_target http_parser "$seconds" pkg/svckit/http/parser_fuzz.cpp pkg/svckit/http/parser.cpp
run_target json "$seconds" pkg/svckit/json/json_fuzz.cpp "${json[@]}"
run_target dns_message "$seconds" pkg/svckit/discovery/dns_fuzz.cpp pkg/svckit/discovery/detail/dns_message.cpp
run_target auth_token "$seconds" pkg/svckit/auth/auth_fuzz.cpp pkg/svckit/auth/{base64url,key,jwk,key_set,claims,jws,verifier}.cpp \
  "${json[@]}" pkg/svckit/core/{context,frame_pool,runtime}.cpp -lcrypto
run_target http_response "$short" pkg/svckit/http/response_fuzz.cpp pkg/svckit/http/parser.cpp
run_target http_chunked "$short" pkg/svckit/http/chunked_fuzz.cpp pkg/svckit/http/parser.cpp
run_target router "$short" pkg/svckit/http/router_fuzz.cpp pkg/svckit/http/{router,message,parser}.cpp \
  "${json[@]}" pkg/svckit/core/{context,frame_pool,runtime}.cpp
run_target config "$short" pkg/svckit/config/config_fuzz.cpp pkg/svckit/config/{layer,units,config,bind}.cpp \
  pkg/svckit/core/redact.cpp -lyaml-cpp
run_target trace_context "$short" pkg/svckit/trace/context_fuzz.cpp pkg/svckit/trace/context.cpp
run_target metrics_exposition "$short" pkg/svckit/metrics/exposition_fuzz.cpp pkg/svckit/metrics/{cells,exemplars,metrics}.cpp
run_target otlp_json "$short" pkg/svckit/trace/otlp_fuzz.cpp pkg/svckit/trace/{otlp,tracer,context}.cpp "${json[@]}" \
  pkg/svckit/core/{context,frame_pool}.cpp -lz
