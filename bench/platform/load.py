"""Request-level figures of the platform's services (make bench-platform): login latency with the
configured argon2id parameters, refresh and licence issue requests per second, licence verification
requests per second. Closed-loop clients on keep-alive connections (http.client, one per thread).
usage: load.py AUTH_URL LICENSE_URL TOKENS_DIR SRC_DIR LABEL [SECONDS]
LICENSE_URL's service verifies tokens minted from TOKENS_DIR (tests/license/tokens.py)."""
import http.client, json, statistics, sys, threading, time, urllib.parse

auth_url, license_url, tokens_dir, src, label = sys.argv[1:6]
seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 5.0
sys.path.insert(0, src + "/tests/license")
from tokens import Minter


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def post(c, path, body, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    c.request("POST", path, body=json.dumps(body), headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def closed_loop(threads, fn, seconds):
    """Runs fn(thread_index, state) in a loop on each thread for `seconds`; returns (count, latencies, errors)."""
    lat, errors, lock, stop = [], [0], threading.Lock(), time.time() + seconds

    def run(i):
        state, mine, bad = {}, [], 0
        while time.time() < stop:
            t0 = time.perf_counter()
            ok = fn(i, state)
            mine.append(time.perf_counter() - t0)
            bad += 0 if ok else 1
        with lock:
            lat.extend(mine)
            errors[0] += bad
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return len(lat), lat, errors[0]


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] * 1000


# Accounts for the logins.
c = conn(auth_url)
users = []
for i in range(8):
    email = f"bench{i}.{int(time.time()*1000)}@example.com"
    s, _ = post(c, "/v1/auth/register", {"email": email, "password": "bench-password-123", "name": f"B{i}"})
    assert s == 201, s
    users.append(email)

# Login: sequential (latency of one login alone), then two at a time (the blocking pool's two threads).
lat = []
for i in range(40):
    t0 = time.perf_counter()
    s, _ = post(c, "/v1/auth/login", {"email": users[i % len(users)], "password": "bench-password-123"})
    lat.append(time.perf_counter() - t0)
    assert s == 200, s
conns = {}


def login(i, st):
    if "c" not in st:
        st["c"] = conn(auth_url)
    s, _ = post(st["c"], "/v1/auth/login", {"email": users[i % len(users)], "password": "bench-password-123"})
    return s == 200


n, llat, lerr = closed_loop(2, login, seconds)
print(f"{label}: login alone p50 {pct(lat, .5):.1f} ms p99 {pct(lat, .99):.1f} ms; "
      f"2 concurrent: {n/seconds:.1f} logins/s, p50 {pct(llat, .5):.1f} ms p99 {pct(llat, .99):.1f} ms, errors {lerr}")


def refresh(i, st):
    if "c" not in st:
        st["c"] = conn(auth_url)
        _, t = post(st["c"], "/v1/auth/login", {"email": users[i % len(users)], "password": "bench-password-123"})
        st["r"] = t["refresh_token"]
    s, t = post(st["c"], "/v1/auth/refresh", {"refresh_token": st["r"]})
    if s == 200:
        st["r"] = t["refresh_token"]
    return s == 200


n, rlat, rerr = closed_loop(4, refresh, seconds)
print(f"{label}: refresh (rotation + a new access token) {n/seconds:,.0f} req/s, p50 {pct(rlat, .5):.2f} ms "
      f"p99 {pct(rlat, .99):.2f} ms, errors {rerr}")

clerk = Minter(tokens_dir).token("9001", ["clerk"], authority="Bench Bureau", ttl=3600)
stamp = int(time.time() * 1000)
counter = [0]
clock = threading.Lock()


def issue(i, st):
    if "c" not in st:
        st["c"] = conn(license_url)
    with clock:
        counter[0] += 1
        k = counter[0]
    body = {"holder": str(1000 + k % 50), "type": "driving_licence", "number": f"B{stamp}-{k}",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z",
            "attributes": {"name": "Bench", "class": "C1"}}
    s, lic = post(st["c"], "/v1/licenses", body, {"Authorization": "Bearer " + clerk, "Idempotency-Key": f"i{stamp}-{k}"})
    if s == 201 and "qr" not in st:
        st["qr"] = lic["qr"]
    return s == 201


n, ilat, ierr = closed_loop(4, issue, seconds)
print(f"{label}: licence issue {n/seconds:,.0f} req/s, p50 {pct(ilat, .5):.2f} ms p99 {pct(ilat, .99):.2f} ms, errors {ierr}")

c2 = conn(license_url)
body = {"holder": "1", "type": "driving_licence", "number": f"V{stamp}", "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2036-01-01T00:00:00Z", "attributes": {"name": "V", "class": "C1"}}
s, lic = post(c2, "/v1/licenses", body, {"Authorization": "Bearer " + clerk})
qr = lic["qr"]


def verify(i, st):
    if "c" not in st:
        st["c"] = conn(license_url)
    s, v = post(st["c"], "/v1/licenses/verify", {"text": qr})
    return s == 200 and v["status"] == "valid"


n, vlat, verr = closed_loop(4, verify, seconds)
print(f"{label}: licence verify {n/seconds:,.0f} req/s, p50 {pct(vlat, .5):.2f} ms p99 {pct(vlat, .99):.2f} ms, errors {verr}")
