#!/usr/bin/env bash
# Starts the platform on embedded defaults from an optimised build: the gateway in front (the one URL a
# user needs), behind it identity (auth-svc), licences (license-svc), the user centre (user-svc) and
# hello; chat-svc on its own gRPC port. SQLite under data/, the file registry in data/registry/ (each
# service registers itself once ready), the configs/ folder, JSON logs on stdout. The first run writes
# the identity service's sealing key and a bootstrap file with a demo admin and clerk (random
# passwords) under data/identity/.
# SVCKIT_REGISTRY=etcd (make run REGISTRY=etcd) puts the registry in an etcd this script starts on
# 127.0.0.1:2379 with its data in data/etcd/ instead.
# Each service runs under a supervisor: one that dies is restarted with a growing pause (1 s, 2 s,
# ... 30 s; back to 1 s after it ran for 30 s), the restart is logged, and the others keep serving.
# Ctrl-C (or SIGTERM) stops them all gracefully (the services first, so they deregister, then etcd).
# SVCKIT_PORT_BASE (8080) and SVCKIT_GRPC_PORT (9090) move the ports, SVCKIT_RUN_DATA (data) the
# SQLite files and the registry folder.
set -euo pipefail
build=${1:-build/release}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/.."
base=${SVCKIT_PORT_BASE:-8080}
grpc_port=${SVCKIT_GRPC_PORT:-9090}
data=${SVCKIT_RUN_DATA:-data}
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
    mkdir -p "$data/registry"
    registry=(--set discovery.backend=file --set "discovery.file.dir=$data/registry")
    ;;
  etcd)
    bash scripts/deps.sh etcd
    mkdir -p "$data/etcd"
    etcd --name svckit --data-dir "$data/etcd" --log-level error --logger zap \
      --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
      --initial-cluster svckit=http://127.0.0.1:2380 >"$data/etcd.log" 2>&1 &
    etcd_pid=$!
    for _ in $(seq 100); do curl -sf -m 1 -o /dev/null http://127.0.0.1:2379/health && break; sleep 0.1; done
    curl -sf -m 1 -o /dev/null http://127.0.0.1:2379/health || { echo "svckit: etcd did not start ($data/etcd.log)" >&2; stop; exit 1; }
    echo "svckit: etcd      http://127.0.0.1:2379 (data/etcd/; keys under /svc: ETCDCTL_API=3 etcdctl get --prefix /svc)"
    registry=(--set discovery.backend=etcd --set discovery.etcd.endpoints=http://127.0.0.1:2379)
    ;;
  *) echo "svckit: SVCKIT_REGISTRY is file or etcd, not '${SVCKIT_REGISTRY}'" >&2; exit 2 ;;
esac
# Runs one service until the platform stops, restarting it when it dies. The service has a process
# group of its own (setsid), so Ctrl-C reaches it once, through its supervisor, as one SIGTERM.
supervise() {  # name binary args...
  local name=$1 stopping=0 child= backoff=1 started rc
  shift
  trap 'if [ $stopping = 0 ]; then stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; fi' INT TERM
  while [ $stopping = 0 ]; do
    started=$SECONDS
    setsid "$@" &
    child=$!
    while :; do
      rc=0
      wait "$child" || rc=$?
      kill -0 "$child" 2>/dev/null || break  # wait returns early when a signal is trapped
    done
    child=
    [ $stopping = 1 ] && break
    [ $((SECONDS - started)) -ge 30 ] && backoff=1
    echo "svckit: $name exited with status $rc; restarting it in ${backoff}s" >&2
    sleep "$backoff" &
    wait $! || true
    backoff=$((backoff * 2 > 30 ? 30 : backoff * 2))
  done
}
trap stop INT TERM
start() {  # name http_port(- for none) admin_port binary args...
  local name=$1 http=$2 admin=$3 bin=$4
  shift 4
  if [ "$http" = - ]; then
    supervise "$name" "$bin" --set admin.port="$admin" "$@" &
    printf 'svckit: %-11s %-26s admin http://127.0.0.1:%s\n' "$name" "(gRPC only)" "$admin"
  else
    supervise "$name" "$bin" --set http.port="$http" --set admin.port="$admin" "$@" &
    printf 'svckit: %-11s http://127.0.0.1:%s   admin http://127.0.0.1:%s\n' "$name" "$http" "$admin"
  fi
  pids+=($!)
}
# Secrets the platform needs, made once: identity's sealing key, and the first accounts (an admin and a
# clerk with random passwords) that identity applies at its first start.
secrets="$data/identity"
mkdir -p "$secrets"
chmod 700 "$secrets"
if [ ! -s "$secrets/sealing.key" ]; then
  (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$secrets/sealing.key")
fi
if [ ! -s "$secrets/bootstrap.json" ]; then
  pw() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
  (umask 077; cat >"$secrets/bootstrap.json" <<JSON
{"accounts": [
  {"email": "admin@gov.example", "password": "admin-$(pw)", "name": "Platform Admin", "roles": ["admin"]},
  {"email": "clerk@gov.example", "password": "clerk-$(pw)", "name": "Licence Clerk", "roles": ["clerk"],
   "authority": "Demo Market Supervision Bureau"}
]}
JSON
  )
fi
gateway_url="http://127.0.0.1:$base"
# Tokens name the gateway as their issuer: identity signs with it, the gateway and license-svc expect it.
issuer=(--set "identity.issuer=$gateway_url")
expect=(--set "auth.issuer=$gateway_url")
echo "svckit: starting the platform (env ${SVCKIT_ENV:-dev}, configs/, $data/ for SQLite and the registry, JSON logs; Ctrl-C stops it)"
start gateway "$base" $((base + 1)) "$build/cmd/gateway/gateway" --set "gateway_auth.issuer=$gateway_url" \
  "${registry[@]}" "$@"
start hello $((base + 2)) $((base + 3)) "$build/cmd/hello/hello" "${registry[@]}" "$@"
start user-svc $((base + 4)) $((base + 5)) "$build/cmd/user-svc/user-svc" --set "db.sqlite.path=$data/user.db" \
  "${registry[@]}" "$@"
start auth-svc $((base + 6)) $((base + 7)) "$build/cmd/auth-svc/auth-svc" --set "db.sqlite.path=$data/identity.db" \
  --set "identity.sealing_key_file=$secrets/sealing.key" --set "identity.bootstrap_file=$secrets/bootstrap.json" \
  "${issuer[@]}" "${registry[@]}" "$@"
start license-svc $((base + 8)) $((base + 9)) "$build/cmd/license-svc/license-svc" \
  --set "db.sqlite.path=$data/license.db" --set "license.signing_key_file=$data/license-signing-key.jwk" \
  "${expect[@]}" "${registry[@]}" "$@"
start chat-svc - $((base + 10)) "$build/cmd/chat-svc/chat-svc" --set grpc.port="$grpc_port" "${registry[@]}" "$@"
echo "svckit: chat-svc    gRPC 127.0.0.1:$grpc_port (api/chat/v1/chat.proto: svckit.chat.v1.ChatService/BidirectionalChat)"
cat <<TXT
svckit: the platform is at $gateway_url   (the demo admin and clerk: $secrets/bootstrap.json)
svckit: the web portal: open $gateway_url/ in a browser (docs/portal.md)
svckit: try it: the citizen and clerk journey in README.md ("Try it"), e.g.
  curl $gateway_url/hello
  curl -X POST $gateway_url/v1/auth/register -H 'Content-Type: application/json' \\
       -d '{"email":"ann@example.com","password":"correct-horse-battery","name":"Ann"}'
  curl $gateway_url/.well-known/openid-configuration
  curl http://127.0.0.1:$((base + 1))/debug/routes          # the gateway's admin port: /metrics /readyz /debug/*
  scripts/chat_client.py 127.0.0.1:$grpc_port ann general   # chat: type lines; run a second one as bob
TXT
wait "${pids[@]}" || true
stop
