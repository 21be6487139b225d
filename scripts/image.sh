#!/usr/bin/env bash
# One OCI image per service, built offline with buildah: FROM scratch (no base image is pulled), the
# service's binary, the shared libraries it loads as ldd resolves them (the dynamic loader included),
# the CA certificates, configs/ and the files the service reads relative to its root (migrations,
# OpenAPI documents, identity's password list). The layout is deploy/docker/Dockerfile's and the one
# deploy/k8s/ mounts into: /app/bin/service, /app/configs (SVCKIT_CONFIG_DIR), /app/data (a volume),
# working directory /app, user 65532:65532. Tagged <IMAGE_REPO>/<service>:<IMAGE_TAG>, the names the
# Kubernetes manifests use. make image builds the release binaries, then runs this script.
# usage: scripts/image.sh BUILD_DIR [SERVICE...]    (default: every service)
#   IMAGE_REPO (ghcr.io/svckit), IMAGE_TAG (the project's version in CMakeLists.txt)
# Docker image format: the OCI image configuration has no HEALTHCHECK; Docker's keeps it, and podman runs
# it (/app/bin/healthcheck: GET /healthz on the admin port). Kubernetes ignores it and uses its probes.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [SERVICE...]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
src=$(cd "$(dirname "$0")/.." && pwd)
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(gateway auth-svc license-svc user-svc hello chat-svc)
repo=${IMAGE_REPO:-ghcr.io/svckit}
tag=${IMAGE_TAG:-$(sed -n 's/^project(svckit VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")}
revision=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
uid=65532
for t in buildah ldd cc strip; do
  command -v "$t" >/dev/null || { echo "image: $t is missing (scripts/deps.sh build image)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/svckit-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The HEALTHCHECK's probe (the images have no shell or curl): libc only, which every service loads too.
cc -O2 -Wall -Wextra -Werror -o "$work/healthcheck" "$src/deploy/docker/healthcheck.c"
strip "$work/healthcheck"

# Copies a program and every shared library ldd resolves for it into a root filesystem, at the paths
# ldd names (the loader finds them there: they are its built-in search folders).
add_program() {  # rootfs source destination
  local root=$1 from=$2 to=$3 lib
  mkdir -p "$root$(dirname "$to")"
  strip --strip-debug -o "$root$to" "$from"   # a release build has no debug sections; a test build's go
  if ldd "$from" | grep -q 'not found'; then echo "image: $from: a library is missing:" >&2; ldd "$from" >&2; exit 1; fi
  for lib in $(ldd "$from" | grep -oE '/[^ ]+'); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

for svc in "${services[@]}"; do
  bin="$build/cmd/$svc/$svc"
  [ -x "$bin" ] || { echo "image: no $bin (build it: cmake --build --preset release --target $svc)" >&2; exit 1; }
  ctx="$work/$svc"
  root="$ctx/rootfs"
  mkdir -p "$root/app/bin" "$root/etc" "$root/tmp" "$ctx/data"
  chmod 1777 "$root/tmp"
  add_program "$root" "$bin" /app/bin/service
  cp "$work/healthcheck" "$root/app/bin/healthcheck"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/app:/sbin/nologin\n' $uid $uid >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' $uid >"$root/etc/group"
  # Host names from /etc/hosts first, then DNS (without the file, glibc asks DNS first and may stop there).
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then   # TLS to PostgreSQL, an OTLP collector, JWKS over https
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
  cp -r "$src/configs" "$root/app/configs"   # Kubernetes mounts its ConfigMaps over /app/configs
  # What each service reads relative to its root (/app: the configuration folder's parent).
  files=() ports="8080/tcp 8081/tcp"
  case "$svc" in
    auth-svc) files=(internal/identity/migrations internal/identity/data) ;;
    license-svc)
      files=(internal/license/migrations)
      # deploy/k8s/base/license-svc.yaml's init container copies the signing key with mode 0600 by `install`.
      add_program "$root" "$(command -v install)" /usr/bin/install
      ;;
    user-svc) files=(internal/user/migrations) ;;
    chat-svc) ports="9090/tcp 8081/tcp" ;;
    gateway | hello) ;;
    *) echo "image: unknown service $svc" >&2; exit 2 ;;
  esac
  for f in "${files[@]}"; do
    mkdir -p "$root/app/$(dirname "$f")"
    cp -r "$src/$f" "$root/app/$f"
  done
  {
    echo "FROM scratch"
    echo "COPY rootfs/ /"
    echo "COPY --chown=$uid:$uid data/ /app/data/"
    echo "USER $uid:$uid"
    echo "WORKDIR /app"
    echo "ENV SVCKIT_CONFIG_DIR=/app/configs"
    echo "EXPOSE $ports"
    echo "VOLUME /app/data"
    echo "LABEL org.opencontainers.image.title=\"$svc\" org.opencontainers.image.version=\"$tag\"" \
      "org.opencontainers.image.revision=\"$revision\" org.opencontainers.image.source=\"https://github.com/svckit/svckit\""
    echo "STOPSIGNAL SIGTERM"
    echo 'HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["/app/bin/healthcheck"]'
    echo 'ENTRYPOINT ["/app/bin/service"]'
  } >"$ctx/Containerfile"
  old=$(buildah images -q "$repo/$svc:$tag" 2>/dev/null || true)
  buildah bud -q --format docker -t "$repo/$svc:$tag" "$ctx" >/dev/null
  # The image this tag named before, now nameless: removed (kept while a container uses it).
  if [ -n "$old" ] && [ "$old" != "$(buildah images -q "$repo/$svc:$tag")" ]; then buildah rmi "$old" >/dev/null 2>&1 || true; fi
  size=$(du -sk --apparent-size "$root" | cut -f1)
  awk -v n="$repo/$svc:$tag" -v k="$size" -v b="$(stat -c %s "$root/app/bin/service")" \
    -v l="$(find "$root" -name '*.so*' | wc -l)" \
    'BEGIN { printf "image: %-36s %5.1f MB (the service %.1f MB, %d shared libraries)\n", n, k / 1024, b / 1048576, l }'
done
