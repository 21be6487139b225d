#!/bin/bash
# Runs once, when the dev PostgreSQL's volume is empty (docker-entrypoint-initdb.d): one role and one
# database per service, each password from the Secret <service>-db mounted under /run/svckit-db/.
set -euo pipefail
for pair in identity:auth-svc license:license-svc users:user-svc; do
  name=${pair%%:*} svc=${pair#*:}
  pw=$(cat "/run/svckit-db/$svc/password")
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v name="$name" -v pw="$pw" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'pw';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
