#!/usr/bin/env bash
# deploy/alloy/config.alloy's log pipeline on svckit's lines (alloy_test.py), and three broken copies of
# it that must be refused: trace_id made a label, the label_keep stage gone (the file name leaks as a
# label), the level read from a field svckit does not write.
# usage: alloy_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
PY=/usr/bin/python3
t="$src/tests/deploy/alloy_test.py"
cfg="$src/deploy/alloy/config.alloy"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/alloy_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
$PY "$t" "$src"
refuse() {  # name sed-program
  sed "$2" "$cfg" >"$tmp/$1.alloy"
  cmp -s "$cfg" "$tmp/$1.alloy" && { echo "FAIL: $1: the edit changed nothing"; exit 1; }
  if $PY "$t" "$src" "$tmp/$1.alloy" >"$tmp/$1.out" 2>&1; then echo "FAIL: $1 accepted"; exit 1; fi
  grep -q "^FAIL" "$tmp/$1.out" || { cat "$tmp/$1.out"; echo "FAIL: $1 crashed instead of failing a check"; exit 1; }
}
refuse trace-id-label '/stage.labels {/,/}/ s/level = "",/level = "", trace_id = "",/; s/values = \["service", "level"\]/values = ["service", "level", "trace_id"]/'
refuse no-label-keep '/stage.label_keep {/,/^  }/d'
refuse wrong-level-field 's/level    = "level",/level    = "severity",/'
echo "alloy: 3 broken pipelines refused"
