#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests and benchmarks: on 127.0.0.1, a free port, a temp folder.
#   scripts/pg.sh start DIR   → starts (initdb on first use, from a cached template) and prints the DSN
#   scripts/pg.sh stop DIR    → fast shutdown (the data stays: start DIR again to restart it)
#   scripts/pg.sh kill DIR    → immediate shutdown, as a crash would
#   scripts/pg.sh dsn DIR     → prints the DSN of DIR's server
# initdb refuses to run as root: as root the server runs as the postgres user.
set -euo pipefail
cmd=$1 dir=$2
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: PostgreSQL 15 is not installed (apt-get install postgresql-15)" >&2; exit 3; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
template=${PG_TEMPLATE:-/tmp/svckit-pg-template-$(id -u)}

make_template() {
  exec 9>"$template.lock"
  flock 9
  if [ ! -f "$template/PG_VERSION" ]; then
    rm -rf "$template.tmp"
    mkdir -p "$template.tmp"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$template.tmp"
    as_pg "$PGBIN/initdb" -D "$template.tmp" -U postgres --auth-local=trust --auth-host=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null
    mv "$template.tmp" "$template"
  fi
  flock -u 9
}

case $cmd in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      make_template
      cp -a "$template" "$dir/data"
      port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      echo "$port" > "$dir/port"
      fresh=1
    fi
    port=$(cat "$dir/port")
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
      "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
    if [ "${fresh:-0}" = 1 ]; then
      as_pg "$PGBIN/../bin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE svckit LOGIN PASSWORD 'svckit'" -c "CREATE DATABASE svckit OWNER svckit" >/dev/null
    fi
    echo "host=127.0.0.1 port=$port dbname=svckit user=svckit password=svckit sslmode=disable"
    ;;
  stop) as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
  kill) as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null ;;
  dsn) echo "host=127.0.0.1 port=$(cat "$dir/port") dbname=svckit user=svckit password=svckit sslmode=disable" ;;
  *) echo "usage: pg.sh start|stop|kill|dsn DIR" >&2; exit 2 ;;
esac
