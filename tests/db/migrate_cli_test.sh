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

# Without --dir, from a service's folder: its internal/*/migrations, its own services/<name>.yaml
# (the database file, relative to the service's root).
mkdir -p "$tmp/shop/configs/services" "$tmp/shop/internal/shop/migrations/sqlite"
printf 'db:\n  driver: sqlite\n' >"$tmp/shop/configs/base.yaml"
printf 'db:\n  sqlite:\n    path: data/shop.db\n' >"$tmp/shop/configs/services/shop.yaml"
echo "CREATE TABLE carts (id INTEGER PRIMARY KEY);" >"$tmp/shop/internal/shop/migrations/sqlite/0001_carts.sql"
(cd "$tmp/shop" && "$cli" migrate up --set log.level=error) | grep -q "applied 1 migration(s) from $tmp/shop/internal/shop/migrations/sqlite"
test -f "$tmp/shop/data/shop.db"
(cd "$tmp" && "$cli" migrate status --config-dir shop/configs) | grep -q '^0001 carts .*applied 20'
mkdir -p "$tmp/shop/internal/other/migrations"
if (cd "$tmp/shop" && "$cli" migrate status 2>"$tmp/err"); then echo "two migrations folders: one was guessed"; exit 1; fi
grep -q "several internal/\*/migrations" "$tmp/err"
echo "migrate cli test: ok"
