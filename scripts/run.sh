#!/usr/bin/env bash
# Starts the platform on embedded defaults from an optimised build: every service of the reference
# platform (hello, user-svc, chat-svc), with SQLite under data/, the file registry in data/registry/
# (each service registers itself once ready), the configs/ folder, JSON logs on stdout.
# Ctrl-C (or SIGTERM) stops them all gracefully.
set -euo pipefail
build=${1:-build/release}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
mkdir -p data/registry
registry=(--set discovery.backend=file --set discovery.file.dir=data/registry)
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop INT TERM
start() {  # name http_port(- for none) admin_port binary args...
  local name=$1 http=$2 admin=$3 bin=$4
  shift 4
  if [ "$http" = - ]; then
    "$bin" --set admin.port="$admin" "$@" &
    printf 'svckit: %-9s %-26s admin http://127.0.0.1:%s\n' "$name" "(gRPC only)" "$admin"
  else
    "$bin" --set http.port="$http" --set admin.port="$admin" "$@" &
    printf 'svckit: %-9s http://127.0.0.1:%s   admin http://127.0.0.1:%s\n' "$name" "$http" "$admin"
  fi
  pids+=($!)
}
echo "svckit: starting the platform (env ${SVCKIT_ENV:-dev}, configs/, data/ for SQLite and the registry, JSON logs; Ctrl-C stops it)"
start hello 8080 8081 "$build/cmd/hello/hello" "${registry[@]}" "$@"
start user-svc 8082 8083 "$build/cmd/user-svc/user-svc" "${registry[@]}" "$@"
start chat-svc - 8085 "$build/cmd/chat-svc/chat-svc" --set grpc.port=9090 "${registry[@]}" "$@"
echo "svckit: chat-svc  gRPC 127.0.0.1:9090 (api/chat/v1/chat.proto: svckit.chat.v1.ChatService/BidirectionalChat)"
cat <<'TXT'
svckit: try
  curl http://127.0.0.1:8080/hello
  curl -X POST http://127.0.0.1:8082/v1/users -H 'Content-Type: application/json' -d '{"email":"ann@example.com","name":"Ann"}'
  curl http://127.0.0.1:8082/v1/users            # the OpenAPI document: http://127.0.0.1:8082/openapi.yaml
  curl http://127.0.0.1:8083/readyz              # admin: /metrics /healthz /readyz /debug/config /debug/traces
  curl http://127.0.0.1:8081/debug/registry      # every registered service and its instances (data/registry/)
  scripts/chat_client.py 127.0.0.1:9090 ann general   # chat: type lines; run a second one as bob
TXT
# Stop everything when any service exits on its own.
wait -n "${pids[@]}" || true
stop
