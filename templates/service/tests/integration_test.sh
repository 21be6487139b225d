#!/usr/bin/env bash
# {{name}} as a client meets it: started from a copy of its configuration, health and readiness on
# the admin port, the items API over HTTP (create, read, replace, list, delete, validation, not
# found), the OpenAPI document, a live edit of {{name_snake}}.greeting served without a restart and a
# broken edit refused (the old value kept), then SIGTERM.
# SQLite always; PostgreSQL too when {{NAME}}_TEST_PG_DSN is set (a database the test may write to).
#   tests/integration_test.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1 src=$2
tmp=$(mktemp -d)
pid=
trap 'rc=$?; [ -n "$pid" ] && kill $pid 2>/dev/null; [ $rc -eq 0 ] || tail -30 "$tmp"/*.log "$tmp"/*.err 2>/dev/null; rm -rf "$tmp"' EXIT

fail() { echo "{{name}} integration: $*"; exit 1; }
expect() {  # what got want-substring
  case "$2" in *"$3"*) ;; *) fail "$1: got '$2', expected it to contain '$3'" ;; esac
}
req() {  # method url [body] -> "status body"
  local m=$1 u=$2 body=${3:-}
  if [ -n "$body" ]; then
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' -d "$body" "$u"
  else
    curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" "$u"
  fi
  printf ' %s' "$(cat "$tmp/body")"
}
save() {  # file text: replaced at once, as editors save
  printf '%s' "$2" >"$1.new" && mv "$1.new" "$1"
}

run_on() {  # driver [--set ...]
  local driver=$1
  shift
  local root=$tmp/$driver
  mkdir -p "$root/internal/{{name}}"
  cp -r "$src/configs" "$root/"
  cp -r "$src/internal/{{name}}/migrations" "$root/internal/{{name}}/"
  "$bin" --config-dir "$root/configs" --env test --set http.host=127.0.0.1 --set http.port=0 --set admin.port=0 \
    --set log.async=false --set log.level=info --set db.driver="$driver" "$@" \
    >"$tmp/$driver.log" 2>"$tmp/$driver.err" &
  pid=$!
  for _ in $(seq 300); do grep -q '^{{name}}: admin \|^{{name}}: refusing' "$tmp/$driver.err" && break; sleep 0.05; done
  local svc admin
  svc=$(sed -n 's/^{{name}}: serving \(http[^ ]*\)$/\1/p' "$tmp/$driver.err")
  admin=$(sed -n 's/^{{name}}: admin \(http[^ ]*\).*/\1/p' "$tmp/$driver.err")
  [ -n "$admin" ] && [ -n "$svc" ] || fail "did not start on $driver: $(cat "$tmp/$driver.err")"

  expect "healthz" "$(req GET "$admin/healthz")" "200"
  for _ in $(seq 100); do curl -sf "$admin/readyz" >/dev/null && break; sleep 0.05; done
  expect "readyz" "$(req GET "$admin/readyz")" '"db":"ok"'

  local created id
  created=$(req POST "$svc/v1/items" '{"name":"first","description":"one"}')
  expect "create" "$created" '201 {"id":'
  id=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' <<<"$created")
  expect "create body" "$created" '"name":"first","description":"one"}'
  expect "read" "$(req GET "$svc/v1/items/$id")" "200 {\"id\":$id,\"name\":\"first\""
  expect "replace" "$(req PUT "$svc/v1/items/$id" '{"name":"renamed"}')" "200 {\"id\":$id,\"name\":\"renamed\""
  expect "list" "$(req GET "$svc/v1/items?limit=100")" '"name":"renamed"'
  expect "validation" "$(req POST "$svc/v1/items" '{"name":""}')" '400 {"code":"INVALID_ARGUMENT"'
  expect "unknown field" "$(req POST "$svc/v1/items" '{"name":"x","colour":"red"}')" '400'
  expect "bad id" "$(req GET "$svc/v1/items/abc")" '400'
  expect "bad limit" "$(req GET "$svc/v1/items?limit=1000")" '400'
  expect "delete" "$(req DELETE "$svc/v1/items/$id")" '204'
  expect "gone" "$(req GET "$svc/v1/items/$id")" '404 {"code":"NOT_FOUND","reason":"ITEM_NOT_FOUND"'
  expect "openapi" "$(req GET "$svc/openapi.json")" '200 {"openapi":"3.1.0"'

  # A live edit: served without a restart.
  local own=$root/configs/services/{{name}}.yaml
  expect "greeting" "$(req GET "$svc/v1/greeting")" '200 {"greeting":"Hello from {{name}}"}'
  save "$own" "$(sed 's/^  greeting: .*/  greeting: Edited live/' "$own")"
  for _ in $(seq 100); do [ "$(curl -s "$svc/v1/greeting")" = '{"greeting":"Edited live"}' ] && break; sleep 0.05; done
  expect "greeting after the edit" "$(req GET "$svc/v1/greeting")" '200 {"greeting":"Edited live"}'
  # A broken edit (page_size out of range): refused whole, the old values kept.
  save "$own" "$(sed -e 's/^  greeting: .*/  greeting: Broken/' -e 's/^  page_size: .*/  page_size: 0/' "$own")"
  for _ in $(seq 100); do grep -q '"msg":"config reload rejected' "$tmp/$driver.log" && break; sleep 0.05; done
  grep -q '"msg":"config reload rejected.*page_size' "$tmp/$driver.log" || fail "the broken edit was not refused"
  expect "greeting after the broken edit" "$(req GET "$svc/v1/greeting")" '200 {"greeting":"Edited live"}'

  kill -TERM $pid
  wait $pid
  pid=
  grep -q '"msg":"service stopped"' "$tmp/$driver.log" || fail "no clean stop on $driver"
  echo "{{name}} integration: ok on $driver"
}

run_on sqlite
pg_dsn=$(printenv {{NAME}}_TEST_PG_DSN || true)
if [ -n "$pg_dsn" ]; then
  run_on postgres --set db.postgres.dsn="$pg_dsn"
else
  echo "{{name}} integration: postgres skipped ({{NAME}}_TEST_PG_DSN is not set)"
fi
