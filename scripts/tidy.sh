#!/usr/bin/env bash
# make lint: clang-tidy with the repository's .clang-tidy over svckit's library sources
# (pkg/svckit/**/*.cpp; tests, benchmarks and fuzzers are not linted), using build/test's compile
# database, one clang-tidy per core. Fails on any finding.
# clang-tidy 16 (scripts/deps.sh lint), as fuzz.sh uses clang 16: clang-tidy 14 cannot parse
# libstdc++ 12's std::source_location and std::variant. The extra arguments: fuzz.sh's define (clang
# reports C++20 concepts as 201907, which hides std::expected from it); -Wno-error, so that clang's
# own warnings are reported as findings (clang-diagnostic-*) rather than errors that end the file's
# check; -Wno-null-conversion for `Render ? ... : nullptr` on a function-pointer template parameter
# that may be null (core/context.hpp).
# usage: scripts/tidy.sh [FILE...]          (default: every library source)
#        scripts/tidy.sh --changed [BASE]   sources changed since the merge base with BASE (main),
#                                           plus a fixed sample of one source per module
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh lint
build=${BUILD:-build/test}
jobs=${JOBS:-$(nproc)}
[ -f "$build/compile_commands.json" ] || cmake --preset test >/dev/null

library_sources() { git ls-files 'pkg/svckit/*.cpp' | grep -vE '_(test|bench|fuzz)\.cpp$'; }

if [ "${1:-}" = "--changed" ]; then
  base=$(git merge-base HEAD "${2:-main}")
  changed=$( (git diff --name-only "$base" -- 'pkg/svckit/*.cpp' 'pkg/svckit/*.hpp'; git ls-files -o --exclude-standard 'pkg/svckit/*.cpp') | sort -u)
  # A changed header lints the sources of its module; the sample is each module's first source.
  modules=$(printf '%s\n' $changed | sed -n 's|^pkg/svckit/\([^/]*\)/.*|\1|p' | sort -u)
  files=$( (for m in $modules; do library_sources | grep "^pkg/svckit/$m/"; done
            library_sources | awk -F/ '!seen[$3]++') | sort -u)
elif [ $# -gt 0 ]; then
  files=$(printf '%s\n' "$@")
else
  files=$(library_sources)
fi

start=$(date +%s)
log=$(mktemp)
status=0
printf '%s\n' $files | xargs -P "$jobs" -n 1 clang-tidy-16 -p "$build" --quiet \
  --extra-arg=-std=c++2b --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L --extra-arg=-Wno-error \
  --extra-arg=-Wno-null-conversion \
  >"$log" 2>&1 || status=$?
grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' "$log" || true
rm -f "$log"
echo "tidy: $(printf '%s\n' $files | wc -l) sources in $(( $(date +%s) - start ))s: $([ $status -eq 0 ] && echo clean || echo findings)"
exit $([ $status -eq 0 ] && echo 0 || echo 1)
