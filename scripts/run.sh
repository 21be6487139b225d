#!/usr/bin/env bash
# Starts the platform on embedded defaults from an optimised build. Today: the hello service.
set -euo pipefail
build=${1:-build/release}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
echo "svckit: starting hello (env ${SVCKIT_ENV:-dev}, configs/, logs to stdout as JSON; Ctrl-C stops it)"
echo "svckit: hello serves GET http://127.0.0.1:${SVCKIT_HTTP_PORT:-8080}/hello;" \
  "admin (metrics, health, debug) on http://127.0.0.1:${SVCKIT_ADMIN_PORT:-8081}"
exec "$build/cmd/hello/hello" "$@"
