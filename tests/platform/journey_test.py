"""The platform's citizen and clerk journey, driven only through the gateway as a new user would, plus
the security cases that belong to the whole platform. Run by tests/run_test.sh against `make run`'s
platform (scripts/run.sh).

usage: journey_test.py GATEWAY_URL BOOTSTRAP_JSON ADMIN_URL...
One trace id (a traceparent the client sends with its registration) must show up in the gateway's,
identity's and the user centre's /debug/traces: the call went gateway -> auth-svc -> user-svc.
"""
import base64
import http.client
import json
import os
import sys
import time
import urllib.parse

gw, bootstrap_path = sys.argv[1], sys.argv[2]
admins = sys.argv[3:]
u = urllib.parse.urlparse(gw)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def call(method, path, body=None, token=None, headers=None, raw=None, base=None):
    target = urllib.parse.urlparse(base) if base else u
    c = http.client.HTTPConnection(target.hostname, target.port, timeout=20)
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text.decode(errors="replace")
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, parsed, hdrs


def login(email, password):
    s, t, _ = call("POST", "/v1/auth/login", {"email": email, "password": password})
    check(s == 200, f"login {email}: {s} {t}")
    return t if s == 200 else {}


# The platform is up once the gateway verifies tokens (it fetches identity's keys through discovery).
accounts = {a["roles"][0]: a for a in json.load(open(bootstrap_path))["accounts"]}
for _ in range(150):
    s, admin, _ = call("POST", "/v1/auth/login", {"email": accounts["admin"]["email"],
                                                 "password": accounts["admin"]["password"]})
    if s == 200:
        break
    time.sleep(0.1)
check(s == 200, f"the bootstrapped admin never logged in: {s} {admin}")
for _ in range(150):
    s, _, _ = call("GET", "/v1/licenses", token=admin.get("access_token"))
    if s == 200:
        break
    time.sleep(0.1)
check(s == 200, f"the gateway never verified identity's tokens: {s}")

# ---- the citizen registers (one trace through gateway, identity and the user centre)
trace_id = os.urandom(16).hex()
tp = f"00-{trace_id}-{os.urandom(8).hex()}-01"
stamp = str(int(time.time() * 1000))
ann_email, bob_email = f"ann.{stamp}@example.com", f"bob.{stamp}@example.com"
s, ann, _ = call("POST", "/v1/auth/register", {"email": ann_email, "password": "correct-horse-battery", "name": "Ann"},
                 headers={"traceparent": tp})
check(s == 201 and ann["roles"] == ["citizen"], f"register: {s} {ann}")
s, bob, _ = call("POST", "/v1/auth/register", {"email": bob_email, "password": "granite-otter-1987", "name": "Bob"})
check(s == 201, f"register bob: {s} {bob}")
a = login(ann_email, "correct-horse-battery")
b = login(bob_email, "granite-otter-1987")

# ---- refresh rotates
s, a2, _ = call("POST", "/v1/auth/refresh", {"refresh_token": a["refresh_token"]})
check(s == 200 and a2["refresh_token"] != a["refresh_token"], f"refresh: {s}")

# ---- a clerk issues a licence to Ann; a citizen may not
clerk = login(accounts["clerk"]["email"], accounts["clerk"]["password"])
licence = {"holder": str(ann["user_id"]), "type": "driving_licence", "number": f"DL{stamp}",
           "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z",
           "attributes": {"name": "Ann", "class": "C1"}}
s, err, _ = call("POST", "/v1/licenses", licence, token=a2["access_token"])
check(s == 403, f"a citizen issues a licence: {s} {err}")
s, issued, h = call("POST", "/v1/licenses", licence, token=clerk["access_token"], headers={"Idempotency-Key": f"k{stamp}"})
check(s == 201 and issued["holder"] == str(ann["user_id"]) and issued["qr"].startswith("SVCL1."), f"issue: {s} {issued}")
s, again, _ = call("POST", "/v1/licenses", licence, token=clerk["access_token"], headers={"Idempotency-Key": f"k{stamp}"})
check(s == 201 and again.get("id") == issued.get("id"), f"a retried issue is the same licence: {s}")

# ---- the citizen lists her own; another citizen cannot see it
s, mine, _ = call("GET", "/v1/licenses", token=a2["access_token"])
check(s == 200 and [l["id"] for l in mine["licenses"]] == [issued["id"]], f"ann's licences: {s} {mine}")
s, _, _ = call("GET", f"/v1/licenses/{issued['id']}", token=b["access_token"])
check(s == 404, f"bob reads ann's licence: {s}")
s, theirs, _ = call("GET", "/v1/licenses", token=b["access_token"])
check(s == 200 and theirs["licenses"] == [], f"bob's list: {s} {theirs}")

# ---- public verification: valid, then a tampered copy is forged
s, v, _ = call("POST", "/v1/licenses/verify", {"text": issued["qr"]})
check(s == 200 and v["status"] == "valid", f"verify: {s} {v}")
_, body, sig = issued["qr"].split(".")
doc = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
doc["attributes"]["class"] = "A1"
tampered = base64.urlsafe_b64encode(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                                    .encode()).rstrip(b"=").decode()
s, v, _ = call("POST", "/v1/licenses/verify", {"text": f"SVCL1.{tampered}.{sig}"})
check(s == 200 and v["status"] == "forged", f"verify tampered: {s} {v}")

# ---- the clerk revokes; verification says revoked
s, got, h = call("GET", f"/v1/licenses/{issued['id']}", token=clerk["access_token"])
s, rv, _ = call("POST", f"/v1/licenses/{issued['id']}/revoke", {"reason": "issued in error"}, token=clerk["access_token"],
                headers={"If-Match": h.get("etag", "")})
check(s == 200 and rv["status"] == "revoked", f"revoke: {s} {rv}")
s, v, _ = call("POST", "/v1/licenses/verify", {"text": issued["qr"]})
check(s == 200 and v["status"] == "revoked", f"verify revoked: {s} {v}")

# ---- logout: the login's refresh token is refused; a replayed one revoked the family already
s, _, _ = call("POST", "/v1/auth/logout", {"refresh_token": a2["refresh_token"]})
check(s == 204, f"logout: {s}")
s, err, _ = call("POST", "/v1/auth/refresh", {"refresh_token": a2["refresh_token"]})
check(s == 401, f"refresh after logout: {s} {err}")
s, err, _ = call("POST", "/v1/auth/refresh", {"refresh_token": b["refresh_token"]})
s, err, _ = call("POST", "/v1/auth/refresh", {"refresh_token": b["refresh_token"]})
check(s == 401 and err.get("reason") == "REFRESH_TOKEN_REUSED", f"a replayed refresh token: {s} {err}")

# ---- the edge: no token, a forged one, X-User-Id from a client, SQL-shaped and oversize input
s, err, h = call("GET", "/v1/licenses")
check(s == 401 and "bearer" in h.get("www-authenticate", "").lower(), f"no token at the edge: {s}")
parts = a2["access_token"].split(".")
claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
claims["roles"] = ["admin"]
forged = parts[0] + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + parts[2]
s, _, _ = call("GET", "/v1/users", token=forged)
check(s == 401, f"a forged admin token at the edge: {s}")
s, _, _ = call("GET", "/v1/users", token=a2["access_token"], headers={"X-User-Roles": "admin", "X-User-Id": "1"})
check(s == 403, f"a citizen claiming admin by header: {s}")
s, _, _ = call("GET", "/v1/users", token=admin["access_token"])
check(s == 200, f"the admin reads the user centre: {s}")
s, got, _ = call("GET", "/v1/licenses?holder=1%27%20OR%20%271%27%3D%271", token=clerk["access_token"])
check(s in (200, 400) and (s == 400 or got["licenses"] == []), f"an injection-shaped holder: {s} {got}")
s, _, _ = call("POST", "/v1/auth/register", raw=b"{" + b" " * (2 << 20) + b"}", headers={"Content-Type": "application/json"})
check(s == 413, f"an oversize body: {s}")

# ---- each service's OpenAPI document under one path
for name in ("identity", "licenses", "users", "hello"):
    s, got, _ = call("GET", f"/openapi/{name}.json")
    check(s == 200 and isinstance(got, dict) and got.get("openapi") == "3.1.0" and got.get("paths"),
          f"/openapi/{name}.json: {s}")

# ---- one trace id: the gateway, identity and the user centre each recorded a span of the registration
seen = []
for admin_url in admins:
    found = False
    for _ in range(30):
        s, traces, _ = call("GET", f"/debug/traces?trace_id={trace_id}", base=admin_url)
        if s == 200 and trace_id in json.dumps(traces):
            found = True
            break
        time.sleep(0.1)
    seen.append(found)
check(all(seen), f"trace {trace_id} in each service's /debug/traces ({admins}): {seen}")

if failures:
    print("journey failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"journey: ok (register, login, refresh, issue, list, verify valid/forged/revoked, logout; trace {trace_id} "
      f"in {len(admins)} services)")
