#!/usr/bin/env bash
# The platform from its container images: scripts/image.sh builds the six images (FROM scratch, offline)
# from a build folder's binaries under a tag of this run's own; podman runs them as Kubernetes would
# (read-only root filesystem, /tmp a tmpfs, one data volume, uid 65532, every capability dropped) with
# host networking on free ports. Checked: the image configuration (user, working directory, HEALTHCHECK,
# no shell), /healthz and /readyz of each service and the HEALTHCHECK run by podman, the citizen and
# clerk journey through the gateway container (tests/platform/journey_test.py), license-svc's signing
# key copied by its Deployment's init container command (install) from the image, the process's uid on
# the host and its read-only root, and a graceful stop on SIGTERM (podman stop): exit status 0 within
# the timeout and "service stopped" in the log. The containers and images it made are removed.
# Needs root (uid 65532 on the host is the check) and a machine where podman can start a container (not
# an unprivileged container itself): exit 77 otherwise, said on the way out.
# usage: image_test.sh BUILD_DIR SRC_DIR       (BUILD_DIR: any build with the six services, e.g. build/release)
set -euo pipefail
build=$1 src=$2
[ "$(id -u)" = 0 ] || { echo "image: needs root for podman (skipped)"; exit 77; }
for t in buildah podman runc openssl curl; do
  command -v "$t" >/dev/null || { echo "image: $t is missing (scripts/deps.sh test)"; exit 1; }
done
services=(gateway auth-svc license-svc user-svc hello chat-svc)
tag="test-$$"
uid=65532
tmp=$(mktemp -d)
# This machine kind: crun and podman's default ulimits cannot be used (shared/tools/containers-and-hosts.sh).
printf '[containers]\ndefault_ulimits = []\n' >"$tmp/containers.conf"
export CONTAINERS_CONF="$tmp/containers.conf"
P=(podman --runtime runc --cgroup-manager cgroupfs)
names=()
cleanup() {
  rc=$?
  if [ $rc -ne 0 ]; then
    grep -v 'systemd connection' "$tmp/podman.err" 2>/dev/null || true
    for n in "${names[@]}"; do echo "--- $n"; "${P[@]}" logs "$n" 2>&1 | tail -n 20; done
  fi
  for n in "${names[@]}"; do "${P[@]}" rm -f -v "$n" >/dev/null 2>&1 || true; done
  for s in "${services[@]}"; do "${P[@]}" rmi -f "ghcr.io/svckit/$s:$tag" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
fail() { echo "image: FAIL: $*"; exit 1; }

# Can this machine run a container at all? A root filesystem of /bin/true alone, no image needed.
mkdir -p "$tmp/probe/bin"
cp /bin/true "$tmp/probe/bin/true"
for l in $(ldd /bin/true | grep -oE '/[^ ]+'); do mkdir -p "$tmp/probe$(dirname "$l")"; cp -L "$l" "$tmp/probe$l"; done
if ! "${P[@]}" run --rm --network none --read-only --rootfs "$tmp/probe" /bin/true >"$tmp/probe.err" 2>&1; then
  echo "image: podman cannot start a container on this machine (skipped):"; cat "$tmp/probe.err"; exit 77
fi

# Twelve free ports below the ephemeral range (as tests/run_test.sh picks them).
. "$src/tests/lib.sh"
base=$(free_port_block 12)

started=$SECONDS
IMAGE_TAG=$tag bash "$src/scripts/image.sh" "$build" "${services[@]}" | tee "$tmp/sizes"
echo "image: built in $((SECONDS - started)) s"
for s in "${services[@]}"; do
  img="ghcr.io/svckit/$s:$tag"
  cfg=$("${P[@]}" image inspect -f '{{.Config.User}} {{.Config.WorkingDir}} {{.Config.Entrypoint}}' "$img")
  [ "$cfg" = "$uid:$uid /app [/app/bin/service]" ] || fail "$img: user, working directory, entrypoint: $cfg"
  "${P[@]}" image inspect -f '{{json .HealthCheck}}' "$img" | grep -q '/app/bin/healthcheck' || fail "$img: no HEALTHCHECK"
  "${P[@]}" image inspect -f '{{.Config.Env}}' "$img" | grep -q 'SVCKIT_CONFIG_DIR=/app/configs' || fail "$img: SVCKIT_CONFIG_DIR"
done
# Distroless: no shell to run.
if "${P[@]}" run --rm --network none --health-interval disable --entrypoint /bin/sh "ghcr.io/svckit/hello:$tag" -c true >/dev/null 2>&1; then
  fail "the hello image has a shell"
fi

# The data volume: SQLite files, the file registry and the secrets, owned by the services' uid.
data=$tmp/data
mkdir -p "$data/identity" "$data/registry"
(
  umask 077
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$data/identity/sealing.key"
  pw() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
  cat >"$data/identity/bootstrap.json" <<JSON
{"accounts": [
  {"email": "admin@gov.example", "password": "admin-$(pw)", "name": "Platform Admin", "roles": ["admin"]},
  {"email": "clerk@gov.example", "password": "clerk-$(pw)", "name": "Licence Clerk", "roles": ["clerk"],
   "authority": "Demo Market Supervision Bureau"}
]}
JSON
  # The licence signing key as deploy/k8s/secrets.sh makes it: an Ed25519 private JWK.
  mkdir -p "$tmp/license-secret"
  b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  openssl genpkey -algorithm ed25519 -out "$tmp/ed25519.pem"
  d=$(openssl pkey -in "$tmp/ed25519.pem" -outform DER | tail -c 32 | b64url)
  x=$(openssl pkey -in "$tmp/ed25519.pem" -pubout -outform DER | tail -c 32 | b64url)
  printf '{"kty":"OKP","crv":"Ed25519","x":"%s","d":"%s"}\n' "$x" "$d" >"$tmp/license-secret/signing-key.jwk"
)
chown -R "$uid:$uid" "$data"
chmod 700 "$data" "$data/identity"
# license-svc's key as deploy/k8s/base/license-svc.yaml hands it over: a Secret volume (read-only, group
# readable under fsGroup 65532), copied with mode 0600 by the init container's `install` from the
# license-svc image into the keys volume that license-svc reads (/app/keys, read-only there).
chown -R "0:$uid" "$tmp/license-secret"
chmod 750 "$tmp/license-secret"
chmod 440 "$tmp/license-secret/signing-key.jwk"
mkdir -p "$tmp/keys"
chown "$uid:$uid" "$tmp/keys"
"${P[@]}" run --rm --network none --read-only --user "$uid:$uid" --cap-drop ALL --health-interval disable \
  -v "$tmp/license-secret:/var/run/secrets/svckit/license:ro" -v "$tmp/keys:/app/keys" \
  --entrypoint /usr/bin/install "ghcr.io/svckit/license-svc:$tag" \
  -m 0600 /var/run/secrets/svckit/license/signing-key.jwk /app/keys/signing-key.jwk 2>>"$tmp/podman.err" \
  || fail "license-svc's init container (install) did not copy the signing key"
[ "$(stat -c '%a %u' "$tmp/keys/signing-key.jwk")" = "600 $uid" ] || fail "signing key copied as $(stat -c '%a %u' "$tmp/keys/signing-key.jwk")"

gw="http://127.0.0.1:$base"
common=(--network host --read-only --tmpfs "/tmp:rw,size=16m,mode=1777" -v "$data:/app/data"
  --cap-drop ALL --security-opt no-new-privileges   # no --user: the image's own user is the one checked
  --health-interval disable)   # podman's healthcheck timers need systemd (its complaints: podman.err); run by hand below
registry=(--set discovery.backend=file --set discovery.file.dir=data/registry)
run() {  # service http_port admin_port [podman options --] args...
  local s=$1 http=$2 admin=$3 n="svckit-$1-$$" opts=()
  shift 3
  if [[ " $* " == *" -- "* ]]; then
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
  fi
  names+=("$n")
  "${P[@]}" run -d --name "$n" "${common[@]}" "${opts[@]}" -e SVCKIT_HTTP_PORT="$http" -e SVCKIT_ADMIN_PORT="$admin" \
    "ghcr.io/svckit/$s:$tag" "${registry[@]}" "$@" >/dev/null 2>>"$tmp/podman.err"
}
run gateway "$base" $((base + 1)) --set "gateway_auth.issuer=$gw"
run hello $((base + 2)) $((base + 3))
run user-svc $((base + 4)) $((base + 5))
run auth-svc $((base + 6)) $((base + 7)) --set identity.bootstrap_file=data/identity/bootstrap.json --set "identity.issuer=$gw"
run license-svc $((base + 8)) $((base + 9)) -v "$tmp/keys:/app/keys:ro" -- \
  --set "auth.issuer=$gw" --set license.signing_key_file=/app/keys/signing-key.jwk
names+=("svckit-chat-svc-$$")
"${P[@]}" run -d --name "svckit-chat-svc-$$" "${common[@]}" -e SVCKIT_GRPC_PORT=$((base + 11)) \
  -e SVCKIT_ADMIN_PORT=$((base + 10)) "ghcr.io/svckit/chat-svc:$tag" "${registry[@]}" >/dev/null 2>>"$tmp/podman.err"

wait_ok() {  # url seconds; a container that exited meanwhile fails at once
  local i exited
  for i in $(seq $(($2 * 10))); do
    curl -sf -m 1 -o /dev/null "$1" && return 0
    if [ $((i % 10)) = 0 ]; then
      exited=$("${P[@]}" ps -a --filter status=exited --format '{{.Names}}' | grep -- "-$$\$" || true)
      [ -z "$exited" ] || fail "exited: $exited"
    fi
    sleep 0.1
  done
  fail "no answer from $1 within $2 s"
}
for a in 1 3 5 7 9 10; do
  wait_ok "http://127.0.0.1:$((base + a))/readyz" 60
  [ "$(curl -s -m 2 "http://127.0.0.1:$((base + a))/healthz")" = '{"status":"ok"}' ] || fail "/healthz on admin port $((base + a))"
done
for n in "${names[@]}"; do "${P[@]}" healthcheck run "$n" >/dev/null || fail "$n: HEALTHCHECK failed"; done
curl -sf -m 2 "$gw/hello" | grep -q 'Hello svckit' || fail "hello through the gateway"

# The journey through the gateway container; one trace in the gateway's, identity's and the user centre's.
/usr/bin/python3 "$src/tests/platform/journey_test.py" "$gw" "$data/identity/bootstrap.json" \
  "http://127.0.0.1:$((base + 1))" "http://127.0.0.1:$((base + 7))" "http://127.0.0.1:$((base + 5))"

# Each process: uid 65532 on the host (no user namespace), its root filesystem mounted read-only.
for n in "${names[@]}"; do
  pid=$("${P[@]}" inspect -f '{{.State.Pid}}' "$n")
  [ "$(ps -o uid= -p "$pid" | tr -d ' ')" = $uid ] || fail "$n runs as uid $(ps -o uid= -p "$pid")"
  [ "$("${P[@]}" top "$n" huser | tail -n +2 | sort -u | tr -d ' ')" = $uid ] || fail "$n: podman top shows another user"
  awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | grep -q '^ro' || fail "$n: its root filesystem is writable"
done
for f in identity.db license.db user.db; do [ -s "$data/$f" ] || fail "no $f in the data volume"; done

# SIGTERM (podman stop), as the kubelet sends it: exit status 0 well within the timeout, "service stopped".
for n in "${names[@]}"; do
  t0=$(date +%s%N)
  "${P[@]}" stop -t 20 "$n" >/dev/null 2>"$tmp/stop.err" || fail "$n: podman stop: $(cat "$tmp/stop.err")"
  ms=$((($(date +%s%N) - t0) / 1000000))
  ! grep -q 'resorting to SIGKILL' "$tmp/stop.err" || fail "$n: killed after the timeout"
  code=$("${P[@]}" inspect -f '{{.State.ExitCode}}' "$n")
  [ "$code" = 0 ] || fail "$n exited with status $code after SIGTERM"
  "${P[@]}" logs "$n" 2>/dev/null | grep -q '"msg":"service stopped"' || fail "$n: no \"service stopped\" in its log"
  echo "image: $n stopped on SIGTERM in $ms ms, status 0"
done
echo "image: PASS (six images from scratch; healthz, HEALTHCHECK, journey through the gateway container, uid $uid, read-only root, graceful stop)"
