#!/usr/bin/env bash
# make bench-auth: svckit::auth's signatures against OpenSSL's own loop (`openssl speed`), measured in
# the same run on the same core, as ratios (docs/benchmarks.md). svckit calls OpenSSL 3's EVP
# interface per operation (a fresh EVP_MD_CTX, DigestSign/DigestVerify, the ES256 r||s conversion);
# openssl speed reuses its contexts, so the ratio is what svckit's wrapping costs. Both sides are
# figures per CPU second (openssl speed's default; Google Benchmark's cpu_time).
# usage: bench/auth/run.sh BENCH_BINARY
set -euo pipefail
bin=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
taskset -c 1 openssl speed -seconds 3 ed25519 ecdsap256 rsa2048 >"$out/openssl.txt" 2>/dev/null
taskset -c 1 "$bin" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_format=json >"$out/svckit.json"
/usr/bin/python3 - "$out/openssl.txt" "$out/svckit.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
peer = {}
for line in text.splitlines():
    nums = re.findall(r"[\d.]+", line)
    if "Ed25519" in line and len(nums) >= 4:
        peer["EdDSA"] = (float(nums[-2]), float(nums[-1]))
    elif "nistp256" in line and len(nums) >= 4:
        peer["ES256"] = (float(nums[-2]), float(nums[-1]))
    elif line.startswith("rsa 2048") and len(nums) >= 4:
        peer["RS256"] = (float(nums[-2]), float(nums[-1]))
ops = {}
for b in json.load(open(sys.argv[2]))["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = b["run_name"]
    # CPU time, as openssl speed divides by the process's user time: on a shared machine wall time
    # counts the other tenants too.
    ns = b["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
    ops[name] = 1e9 / ns
print("| algorithm | openssl speed sign/s | svckit raw sign/s (ratio) | token sign/s | openssl speed verify/s | svckit raw verify/s (ratio) | token verify/s |")
print("|---|---|---|---|---|---|---|")
for alg in ("EdDSA", "ES256", "RS256", "PS256"):
    ps, pv = peer.get("RS256" if alg == "PS256" else alg, (float("nan"), float("nan")))
    rs, rv = ops[f"BM_RawSign/{alg}"], ops[f"BM_RawVerify/{alg}"]
    ts, tv = ops[f"BM_SignToken/{alg}"], ops[f"BM_VerifyToken/{alg}"]
    print(f"| {alg} | {ps:,.0f} | {rs:,.0f} ({rs/ps:.2f}) | {ts:,.0f} | {pv:,.0f} | {rv:,.0f} ({rv/pv:.2f}) | {tv:,.0f} |")
print(f"\nparse_jws alone: {ops['BM_ParseToken']:,.0f}/s")
PY
