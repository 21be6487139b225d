#!/usr/bin/env bash
# Starts the platform on embedded defaults from an optimised build: every service of the reference
# platform (hello, user-svc, chat-svc), with SQLite under data/, the file registry in data/registry/
# (each service registers itself once ready), the configs/ folder, JSON logs on stdout.
# SVCKIT_REGISTRY=etcd (make run REGISTRY=etcd) puts the registry in an etcd this script starts on
# 127.0.0.1:2379 with its data in data/etcd/ instead.
# Ctrl-C (or SIGTERM) stops them all gracefully (the services first, so they deregister, then etcd).
set -euo pipefail
build=${1:-build/release}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
pids=()
etcd_pid=
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$etcd_pid" ]; then
    kill -TERM "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
  fi
}
case "${SVCKIT_REGISTRY:-file}" in
  file)
    mkdir -p data/registry
    registry=(--set discovery.backend=file --set discovery.file.dir=data/registry)
    ;;
  etcd)
    bash scripts/deps.sh etcd
    mkdir -p data/etcd
    etcd --name svckit --data-dir data/etcd --log-level error --logger zap \
      --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
      --initial-cluster svckit=http://127.0.0.1:2380 >data/etcd.log 2>&1 &
    etcd_pid=$!
    for _ in $(seq 100); do curl -sf -m 1 -o /dev/null http://127.0.0.1:2379/health && break; sleep 0.1; done
    curl -sf -m 1 -o /dev/null http://127.0.0.1:2379/health || { echo "svckit: etcd did not start (data/etcd.log)" >&2; stop; exit 1; }
    echo "svckit: etcd      http://127.0.0.1:2379 (data/etcd/; keys under /svc: ETCDCTL_API=3 etcdctl get --prefix /svc)"
    registry=(--set discovery.backend=etcd --set discovery.etcd.endpoints=http://127.0.0.1:2379)
    ;;
  *) echo "svckit: SVCKIT_REGISTRY is file or etcd, not '${SVCKIT_REGISTRY}'" >&2; exit 2 ;;
esac
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
  curl http://127.0.0.1:8081/debug/registry      # every registered service and its instances
  scripts/chat_client.py 127.0.0.1:9090 ann general   # chat: type lines; run a second one as bob
TXT
# Stop everything when any service exits on its own.
wait -n "${pids[@]}" || true
stop
