"""The soak's rules (docs/reliability.md), on what tests/reliability/soakload wrote.
usage: soak_check.py OUT"""
import json, os, sys


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))] if values else 0.0


def check(out):
    """The soak's rules after a warm-up of a fifth of the run: RSS grows by at most 5 %, open fds do not
    grow (the last quarter's most within 4 of the first quarter's), threads stay flat, the p99 of the last fifth is within 10 % of the first fifth after warm-up (plus
    SOAK_P99_SLACK_MS, default 1 ms: on a shared 2-core machine a sub-millisecond p99 moves by more
    than 10 % from scheduling noise alone), and no request fails. SOAK_RSS_SLACK_MB (default 0) lets
    RSS grow by that much when it is more than 5 %: in a short run the database's page caches (SQLite's
    2 MiB a connection) are still filling as the table grows."""
    d = json.load(open(out))
    seconds, samples, lat = d["seconds"], d["samples"], d["latencies"]
    warm = seconds / 5
    after = [s for s in samples if s["t"] >= warm]
    rss0, rss_max = after[0]["rss_kb"], max(s["rss_kb"] for s in after)
    fds = [s["fds"] for s in after]
    threads = [s["threads"] for s in after]
    span = (seconds - warm) / 4
    first = [l for a, l, _ in lat if warm <= a < warm + span]
    last = [l for a, l, _ in lat if a >= seconds - span]
    errors = sum(1 for _, _, ok in lat if not ok)
    slack = float(os.environ.get("SOAK_P99_SLACK_MS", "1.0"))
    growth = 100.0 * (rss_max - rss0) / rss0
    p_first, p_last = p99(first), p99(last)
    print(f"requests {len(lat)}, errors {errors}, RSS {rss0 // 1024} -> {rss_max // 1024} MiB (+{growth:.1f} %), "
          f"fds {min(fds)}..{max(fds)}, threads {min(threads)}..{max(threads)}, "
          f"p99 first {p_first:.2f} ms, last {p_last:.2f} ms")
    broken = []
    if errors:
        broken.append(f"{errors} requests failed")
    slack_kb = float(os.environ.get("SOAK_RSS_SLACK_MB", "0")) * 1024
    if growth > 5.0 and rss_max - rss0 > slack_kb:
        broken.append(f"RSS grew {growth:.1f} % after warm-up")
    # Flat means no growth: the most fds open in the last quarter against the most in the first
    # quarter after warm-up. Within a quarter the count moves with the load generator's connections
    # (it opens more while answers are slow) and the database pool's (it grows on demand to its cap).
    first_fds = [s["fds"] for s in after if s["t"] < warm + span]
    last_fds = [s["fds"] for s in after if s["t"] >= seconds - span]
    if first_fds and last_fds and max(last_fds) - max(first_fds) > 4:
        broken.append(f"open fds grew: at most {max(first_fds)} in the first quarter, {max(last_fds)} in the last")
    if max(threads) != min(threads):
        broken.append(f"threads moved {min(threads)}..{max(threads)}")
    if p_last > p_first * 1.10 + slack:
        broken.append(f"p99 rose from {p_first:.2f} to {p_last:.2f} ms")
    if broken:
        print("soak: " + "; ".join(broken))
        sys.exit(1)


check(sys.argv[1])
