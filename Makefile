# svckit: two commands on a fresh Debian 12 machine.
#   make run   - install missing packages, build optimised binaries, start the platform
#   make test  - install missing packages, build (warnings are errors), run every test
# make image  - the release binaries, then one container image per service (buildah, offline)
# Extra: make test-asan (ASan+UBSan), make test-tsan (TSan), make lint (clang-tidy), make bench,
# make chaos (the reliability scenarios' long forms, docs/reliability.md), make soak (30 min per database),
# make fuzz (FUZZ_SECONDS=60), make coverage (make test-asan, then a per-module table, HTML and the 90 %
# gate on pkg/), make fmt, make fmt-check.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= -j $(JOBS)
# Build directories and flags are CMakePresets.json's (release, test, asan, tsan, bench; debug, the -O0
# build to step through, has no target): an IDE or a
# bare `cmake --preset test` gets the same builds as these targets. The fuzz preset builds the
# libFuzzer targets with CMake; make fuzz builds and runs them with scripts/fuzz.sh.
FUZZ_SECONDS ?= 60

.PHONY: chaos image lint fmt-check run test test-asan test-tsan coverage soak build-release bench bench-log bench-json bench-metrics bench-http bench-db bench-chaos bench-grpc bench-discovery bench-auth bench-license bench-gateway fuzz deps fmt clean

deps:
	@bash scripts/deps.sh build test

build-release:
	@bash scripts/deps.sh build
	cmake --preset release $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset release -j $(JOBS)

# One image per service, FROM scratch, built offline with buildah: ghcr.io/svckit/<service>:<version>,
# the names deploy/k8s uses (scripts/image.sh; docs/operations.md#images). IMAGE_TAG, IMAGE_REPO rename.
SERVICES := gateway auth-svc license-svc user-svc hello chat-svc
image:
	@bash scripts/deps.sh build image
	cmake --preset release $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset release -j $(JOBS) --target $(SERVICES)
	bash scripts/image.sh build/release $(SERVICES)

# REGISTRY=etcd: the services register in an etcd that scripts/run.sh starts (default: file).
REGISTRY ?= file
run: build-release
	@SVCKIT_REGISTRY=$(REGISTRY) bash scripts/run.sh build/release $(ARGS)

test: deps
	cmake --preset test $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset test -j $(JOBS)
	ctest --preset test $(CTEST_FLAGS)

# The long forms of the reliability scenarios (docs/reliability.md): hostile clients with the timeouts
# at their defaults, a full disk held 60 s, overload at 2x and 5x capacity for 60 s each, with the
# load shedder and without it (SHED=0, for comparison: expected to break the rules). About 15 minutes.
chaos: deps
	cmake --preset test $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset test -j $(JOBS) --target hello user-svc gateway
	bash tests/reliability/hostile_clients.sh build/test . long
	bash tests/reliability/disk_full.sh build/test . 60
	bash tests/reliability/overload.sh build/test . 60
	-SHED=0 bash tests/reliability/overload.sh build/test . 60

# The ASan+UBSan build (-O1 -g1) is instrumented for gcov as well: make coverage reads what its unit
# and integration tests covered, so CI builds and runs the tree once for both.
test-asan: deps
	cmake --preset asan $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset asan -j $(JOBS)
	find build/asan -name '*.gcda' -delete
	ctest --preset asan $(CTEST_FLAGS)

test-tsan: deps
	cmake --preset tsan $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan $(CTEST_FLAGS)

# make test-asan, then scripts/coverage.sh over what its unit and integration tests covered: line and
# branch coverage per module, an HTML report in build/asan/coverage-report/, and exit 2 when lines of
# pkg/ fall under PKG_FLOOR (90) or lines of internal/ under INTERNAL_FLOOR (80).
coverage: test-asan
	@bash scripts/deps.sh coverage
	bash scripts/coverage.sh build/asan

# The soak of docs/reliability.md: user-svc (release build) at half its capacity, mixed reads and
# writes, SOAK_SECONDS (1800) on SQLite then on PostgreSQL; make test runs a 90 s form of each.
SOAK_SECONDS ?= 1800
soak: build-release
	@bash scripts/deps.sh test
	bash tests/reliability/soak.sh build/release $(CURDIR) $(SOAK_SECONDS)

# clang-tidy with .clang-tidy over the library sources, on build/test's compile database (CI runs it
# after make test; about 4 minutes on 2 cores). scripts/tidy.sh --changed lints only what changed.
lint:
	cmake --preset test $(CMAKE_FLAGS) >/dev/null
	bash scripts/tidy.sh

bench: bench-log bench-json bench-metrics bench-http bench-db bench-chaos bench-grpc bench-discovery bench-auth bench-license bench-identity bench-platform bench-gateway

bench-http: build-release
	@bash scripts/deps.sh bench
	bash bench/http/run.sh build/release
	bash bench/http/allocs.sh build/release
	bash bench/http/instr.sh build/release/cmd/hello/hello

# svckit's gateway against nginx as a reverse proxy, one upstream, same run; then instructions and
# allocations per proxied request (docs/benchmarks.md).
bench-gateway:
	@bash scripts/deps.sh build bench
	cmake --preset release $(CMAKE_FLAGS) >/dev/null
	cmake --build --preset release -j $(JOBS) --target gateway
	bash bench/gateway/run.sh build/release
	bash bench/gateway/instr.sh build/release

bench-discovery:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_discovery_bench discovery_etcd_watch
	taskset -c 1 build/bench/pkg/svckit/discovery/svckit_discovery_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	bash bench/discovery/run.sh build/bench

bench-auth:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_auth_bench
	bash bench/auth/run.sh build/bench/pkg/svckit/auth/svckit_auth_bench

bench-license:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target license_bench
	taskset -c 1 build/bench/bench/license/license_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	taskset -c 1 openssl speed -seconds 3 ed25519 2>/dev/null | grep -i ed25519

bench-identity:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target identity_bench
	taskset -c 1 build/bench/bench/identity/identity_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

# The identity and licence services at the request level on SQLite and PostgreSQL (bench/platform/run.sh).
bench-platform: build-release
	@bash scripts/deps.sh test
	bash bench/platform/run.sh build/release

bench-json:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_json_bench
	taskset -c 1 build/bench/pkg/svckit/json/svckit_json_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

bench-metrics:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_metrics_bench
	bash bench/metrics/run.sh build/bench/pkg/svckit/metrics/svckit_metrics_bench

bench-db:
	@bash scripts/deps.sh build test bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_db_bench db_bench_client libpq_fetch
	taskset -c 1 build/bench/pkg/svckit/db/svckit_db_bench --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
	bash bench/db/run.sh build/bench

bench-chaos:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target chaos
	bash bench/chaos/run.sh build/bench

bench-grpc:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target echo_server echo_load
	bash bench/grpc/run.sh build/bench

bench-log:
	@bash scripts/deps.sh build bench
	cmake --preset bench >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_log_bench
	bash bench/log/run.sh build/bench/pkg/svckit/log/svckit_log_bench

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

fmt:
	git ls-files '*.cpp' '*.hpp' ':!:templates/*' | xargs clang-format -i
# The check make test runs too (format.clang_format): every tracked C++ file as clang-format writes it.
fmt-check:
	git ls-files '*.cpp' '*.hpp' ':!:templates/*' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
