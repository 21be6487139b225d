#!/usr/bin/env bash
# Line and branch coverage of svckit's own code from a coverage build's test run (make coverage):
# a table per module, an HTML report, and a gate: exit 2 when line coverage of pkg/ (or internal/)
# falls under its floor. Throw branches and branches the compiler proved unreachable are left out:
# every `co_await` and every call that may throw would otherwise count as an untaken branch.
# usage: scripts/coverage.sh BUILD_DIR   (PKG_FLOOR=90 INTERNAL_FLOOR=80 by default)
set -euo pipefail
build=${1:?usage: coverage.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
out=$build/coverage-report
mkdir -p "$out"
# Test executables' own objects are left out: what they cover of pkg/ and internal/ is counted in the
# libraries' objects, and skipping them halves the gcov work.
gcovr --root "$src" "$build" -j "$(nproc)" \
  --filter "$src/pkg/svckit/" --filter "$src/internal/" \
  --exclude '.*_test\.cpp$' --exclude '.*_bench\.cpp$' --exclude '.*_fuzz\.cpp$' --exclude '.*/pkg/svckit/testing/.*' \
  --exclude-directories '.*_test\.dir$' --exclude-directories '.*/tests/.*' --exclude-directories '.*/bench/.*' \
  --exclude-throw-branches --exclude-unreachable-branches --gcov-ignore-parse-errors \
  --json-summary "$out/summary.json" --html --html-title "svckit coverage" -o "$out/index.html" \
  >"$out/gcovr.log" 2>&1 || { cat "$out/gcovr.log"; exit 1; }
rc=0
/usr/bin/python3 - "$out/summary.json" "${PKG_FLOOR:-90}" "${INTERNAL_FLOOR:-80}" <<'PY' || rc=$?
import json, sys
summary, pkg_floor, internal_floor = json.load(open(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3])
groups = {}
for f in summary["files"]:
    parts = f["filename"].split("/")
    key = "/".join(parts[:3]) if parts[0] == "pkg" else "/".join(parts[:2])
    g = groups.setdefault(key, [0, 0, 0, 0])
    g[0] += f["line_covered"]; g[1] += f["line_total"]; g[2] += f["branch_covered"]; g[3] += f["branch_total"]
def pct(a, b): return 100.0 * a / b if b else 100.0
print(f"{'module':<34}{'lines':>16}{'line %':>9}{'branches':>16}{'branch %':>10}")
tops = {}
for key in sorted(groups):
    lc, lt, bc, bt = groups[key]
    print(f"{key:<34}{f'{lc}/{lt}':>16}{pct(lc, lt):>8.1f}%{f'{bc}/{bt}':>16}{pct(bc, bt):>9.1f}%")
    t = tops.setdefault(key.split("/")[0], [0, 0, 0, 0])
    for i in range(4): t[i] += groups[key][i]
failed = False
for top, floor in (("pkg", pkg_floor), ("internal", internal_floor)):
    lc, lt, bc, bt = tops.get(top, [0, 0, 0, 0])
    verdict = "ok" if pct(lc, lt) >= floor else "UNDER THE FLOOR"
    print(f"{top + '/':<34}{f'{lc}/{lt}':>16}{pct(lc, lt):>8.1f}%{f'{bc}/{bt}':>16}{pct(bc, bt):>9.1f}%   floor {floor:.0f}% of lines: {verdict}")
    failed |= pct(lc, lt) < floor
sys.exit(2 if failed else 0)
PY
echo "coverage: HTML report at $out/index.html"
exit $rc
