# PostgreSQL goes away under load and comes back: callers get a quick 503 with Retry-After (never a
# hang), the service stays up, every request succeeds again within 2 s of the database's return, and
# the pool's busy connections return to zero.
# usage: fault_test.py BASE_URL ADMIN_URL PG_SCRIPT PG_DIR
import http.client, json, subprocess, sys, threading, time, urllib.parse

base, admin, pg_script, pg_dir = sys.argv[1:5]
u, a = urllib.parse.urlparse(base), urllib.parse.urlparse(admin)

def request(host, port, method, path, body=None):
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request(method, path, body=json.dumps(body) if body else None, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data, r.getheader("Retry-After")

s, data, _ = request(u.hostname, u.port, "POST", "/v1/users", {"email": "load@x.io", "name": "Load"})
assert s == 201, (s, data)
uid = json.loads(data)["id"]

samples, stop = [], threading.Event()
lock = threading.Lock()
def load():
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            status, _, retry = request(u.hostname, u.port, "GET", f"/v1/users/{uid}")
        except Exception as e:  # a hang or a dropped connection counts against us
            status, retry = f"error {type(e).__name__}", None
        with lock:
            samples.append((t0, time.monotonic() - t0, status, retry))
        time.sleep(0.005)

threads = [threading.Thread(target=load) for _ in range(4)]
for t in threads:
    t.start()
time.sleep(1.0)
t_stop = time.monotonic()
subprocess.run(["bash", pg_script, "stop", pg_dir], check=True)
t_stopped = time.monotonic()
time.sleep(2.0)
t_start = time.monotonic()
subprocess.run(["bash", pg_script, "start", pg_dir], check=True, stdout=subprocess.DEVNULL)
t_started = time.monotonic()
time.sleep(3.0)
stop.set()
for t in threads:
    t.join()

failures = []
before = [x for x in samples if x[0] < t_stop]
outage = [x for x in samples if t_stopped + 0.1 < x[0] < t_start]
after = [x for x in samples if x[0] > t_started + 2.0]
if not before or any(x[2] != 200 for x in before):
    failures.append(f"before the outage: {set(x[2] for x in before)}")
if not outage:
    failures.append("no requests during the outage")
if any(x[2] not in (503,) for x in outage):
    failures.append(f"during the outage: statuses {sorted(set(map(str, (x[2] for x in outage))))}")
if any(x[2] == 503 and x[3] is None for x in outage):
    failures.append("503 without Retry-After")
slowest = max((x[1] for x in outage), default=0)
if slowest > 1.0:
    failures.append(f"an outage request took {slowest:.2f} s (should fail fast)")
if not after or any(x[2] != 200 for x in after):
    failures.append(f"2 s after the database came back: {sorted(set(map(str, (x[2] for x in after))))}")
first_ok = min((x[0] for x in samples if x[0] > t_started and x[2] == 200), default=None)
s, _, _ = request(a.hostname, a.port, "GET", "/healthz")
if s != 200:
    failures.append("service not alive")
time.sleep(0.3)
_, metrics, _ = request(a.hostname, a.port, "GET", "/metrics")
busy = [l for l in metrics.decode().splitlines() if l.startswith('svckit_db_pool_connections{driver="postgres",state="busy"}')]
if not busy or float(busy[0].split()[-1]) != 0:
    failures.append(f"pool busy after the load: {busy}")
if failures:
    print("fault test failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"fault test: ok ({len(before)} before, {len(outage)} during the outage (all 503, slowest {slowest*1000:.0f} ms), "
      f"first success {((first_ok or t_started) - t_started)*1000:.0f} ms after restart, {len(after)} after)")
