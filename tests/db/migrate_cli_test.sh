#!/usr/bin/env bash
# `svckit migrate status|up` on a fresh SQLite file: pending → applied once → an edited file is refused.
set -euo pipefail
cli=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/internal/user/migrations" "$tmp/migrations"
run() { "$cli" migrate "$1" --dir "$tmp/migrations" --config-dir "$src/configs" --set db.sqlite.path="$tmp/u.db" --set log.level=error; }
run status | grep -q '^0001 users .*pending'
run up | grep -q 'applied 2 migration'
run up | grep -q 'applied 0 migration'
run status | grep -q '^0001 users .*applied 20'
echo "-- edited" >> "$tmp/migrations/sqlite/0001_users.sql"
run status | grep -q 'CHANGED since applied'
if run up 2>"$tmp/err"; then echo "an edited migration was applied"; exit 1; fi
grep -q MIGRATION_CHANGED "$tmp/err"
"$cli" migrate sideways --dir x 2>/dev/null && { echo "bad action accepted"; exit 1; }
echo "migrate cli test: ok"
