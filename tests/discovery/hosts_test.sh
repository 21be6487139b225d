#!/usr/bin/env bash
# Discovery across hosts: three copies of hello, each on its own "host" (a Linux network namespace with
# one leg on a bridge this script creates, and its own address in 198.18.0.0/15), register that
# address in an etcd listening on the bridge's host address. A client in the root namespace
# (discovery_hosts_load) keeps calling discovery:///hello while one host's link is cut — a partition:
# the process keeps running but nothing reaches it and it cannot renew its lease — and then healed.
# The client must see no error, eject the host at once (try timeouts), see it leave the view within
# its lease TTL + 1 s, and see it come back after the heal.
#
# Names are unique to this run, everything is removed on every exit path, and all traffic stays on
# the bridge and namespaces created here. Without the rights to create network namespaces (or
# without etcd) the test is skipped (exit 77) and says why.
# usage: hosts_test.sh HELLO_BIN LOAD_BIN SOURCE_DIR
set -euo pipefail
hello=$1 load=$2 src=$3
ttl=2

skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "creating network namespaces needs root"
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
command -v etcd >/dev/null || skip "etcd is not installed (make test installs etcd-server)"

tag=sdh$$ # interface names: at most 15 characters (sdh + pid + one letter + digit)
br=${tag}b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svckit-hosts.XXXXXX")
pids=()
made_ns=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${made_ns[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  for k in 1 2 3; do ip link del "${tag}h$k" 2>/dev/null || true; done
  ip link del "$br" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    for f in "$tmp"/*.log; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Can namespaces be made here at all?
if ! ip netns add "${tag}n1" 2>"$tmp/netns.err"; then
  skip "network namespaces cannot be created here: $(cat "$tmp/netns.err")"
fi
made_ns+=("${tag}n1")

# A /24 of 198.18.0.0/15 that no interface or route of this machine uses.
net=
for i in $(seq 0 255); do
  third=$(((($$ + i) % 250) + 2))
  cand=198.18.$third
  if [ -z "$(ip -4 route show to "$cand.0/24")" ] && ! ip -4 addr show | grep -q " $cand\."; then
    net=$cand
    break
  fi
done
[ -n "$net" ] || { echo "no free /24 in 198.18.0.0/16"; exit 1; }

ip link add "$br" type bridge
ip addr add "$net.1/24" dev "$br"
ip link set "$br" up
for k in 1 2 3; do
  n=${tag}n$k
  [ "$k" -eq 1 ] || { ip netns add "$n"; made_ns+=("$n"); }
  ip link add "${tag}h$k" type veth peer name eth0 netns "$n"
  ip link set "${tag}h$k" master "$br" up
  ip -n "$n" addr add "$net.1$k/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" link set lo up
done

# etcd on the bridge's host address: the address is this run's, so any port is free on it unless a
# wildcard listener holds it.
port_free() { [ -z "$(ss -Htln "sport = :$1")" ]; }
client_port=$((20000 + RANDOM % 20000))
until port_free "$client_port"; do client_port=$((client_port + 1)); done
peer_port=$((client_port + 1))
until port_free "$peer_port"; do peer_port=$((peer_port + 1)); done
etcd_url=http://$net.1:$client_port
etcd --name hosts --data-dir "$tmp/etcd" --logger zap --log-level error \
  --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
  --listen-peer-urls "http://$net.1:$peer_port" --initial-advertise-peer-urls "http://$net.1:$peer_port" \
  --initial-cluster "hosts=http://$net.1:$peer_port" --initial-cluster-state new >"$tmp/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -sf -m 1 -o /dev/null "$etcd_url/health" && break
  sleep 0.1
done
curl -sf -m 1 -o /dev/null "$etcd_url/health" || { echo "etcd did not start"; exit 1; }

# hello-k on host k, registering its own address.
for k in 1 2 3; do
  ip netns exec "${tag}n$k" "$hello" --config-dir "$src/configs" \
    --set "http.host=$net.1$k" --set http.port=8080 --set admin.port=8081 --set app.workers=1 \
    --set app.shutdown_delay=500ms --set admin.readiness_interval=100ms --set log.level=warn \
    --set "hello.message=hello-$k" --set "discovery.instance_id=hello-$k" \
    --set discovery.backend=etcd --set "discovery.etcd.endpoints=$etcd_url" \
    --set "discovery.etcd.lease_ttl=${ttl}s" --set discovery.etcd.timeout=1s \
    --set discovery.etcd.backoff_min=50ms --set discovery.etcd.backoff_max=500ms >"$tmp/hello-$k.log" 2>&1 &
  pids+=($!)
done

echo "hosts: $net.11-13 on bridge $br, etcd at $etcd_url; cutting ${tag}h2 (hello-2)"
# In the background and waited for, so that a signal to this script runs its cleanup at once.
"$load" "$etcd_url" hello-2 "$ttl" "ip link set ${tag}h2 down" "ip link set ${tag}h2 up" &
pids+=($!)
wait $!
