# svckit: two commands on a fresh Debian 12 machine.
#   make run   - install missing packages, build optimised binaries, start the platform
#   make test  - install missing packages, build (warnings are errors), run every test
# Extra: make test-asan (ASan+UBSan), make test-tsan (TSan), make bench, make fuzz (FUZZ_SECONDS=60), make fmt.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure --timeout 300 -j $(JOBS)
FUZZ_SECONDS ?= 60

.PHONY: run test test-asan test-tsan build-release bench bench-log bench-json bench-metrics bench-http bench-db bench-chaos bench-grpc fuzz deps fmt clean

deps:
	@bash scripts/deps.sh build test

build-release:
	@bash scripts/deps.sh build
	cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build build/release -j $(JOBS)

run: build-release
	@bash scripts/run.sh build/release $(ARGS)

test: deps
	cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSVCKIT_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build/test -j $(JOBS)
	cd build/test && ctest $(CTEST_FLAGS)

test-asan: deps
	cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSVCKIT_WERROR=ON -DSVCKIT_SANITIZE=address $(CMAKE_FLAGS) >/dev/null
	cmake --build build/asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest $(CTEST_FLAGS) -LE install

test-tsan: deps
	cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSVCKIT_WERROR=ON -DSVCKIT_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/scripts/tsan.supp ctest $(CTEST_FLAGS) -LE install

bench: bench-log bench-json bench-metrics bench-http bench-db bench-chaos bench-grpc

bench-http: build-release
	@bash scripts/deps.sh bench
	bash bench/http/run.sh build/release

bench-json:
	@bash scripts/deps.sh build bench
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF -DSVCKIT_BUILD_BENCH=ON >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_json_bench
	taskset -c 1 build/bench/pkg/svckit/json/svckit_json_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

bench-metrics:
	@bash scripts/deps.sh build bench
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF -DSVCKIT_BUILD_BENCH=ON >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_metrics_bench
	bash bench/metrics/run.sh build/bench/pkg/svckit/metrics/svckit_metrics_bench

bench-db:
	@bash scripts/deps.sh build test bench
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF -DSVCKIT_BUILD_BENCH=ON >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_db_bench libpq_fetch
	bash bench/db/run.sh build/bench

bench-chaos:
	@bash scripts/deps.sh build bench
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF -DSVCKIT_BUILD_BENCH=ON >/dev/null
	cmake --build build/bench -j $(JOBS) --target chaos
	bash bench/chaos/run.sh build/bench

bench-grpc:
	@bash scripts/deps.sh build bench
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF -DSVCKIT_BUILD_BENCH=ON >/dev/null
	cmake --build build/bench -j $(JOBS) --target echo_server echo_load
	bash bench/grpc/run.sh build/bench

bench-log:
	@bash scripts/deps.sh build bench
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSVCKIT_BUILD_TESTS=OFF -DSVCKIT_BUILD_BENCH=ON >/dev/null
	cmake --build build/bench -j $(JOBS) --target svckit_log_bench
	bash bench/log/run.sh build/bench/pkg/svckit/log/svckit_log_bench

fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

fmt:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
