# The user centre through its HTTP API, as a client sees it, on whichever database the service runs.
# usage: api_test.py BASE_URL ADMIN_URL OPENAPI_YAML
import os, http.client, json, sys, threading, urllib.parse

base, admin, openapi_schema_dir = sys.argv[1:4]
u = urllib.parse.urlparse(base)
failures = []

def call(method, path, body=None, headers=None, raw=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = text
    return r.status, doc, r

def check(cond, what):
    if not cond:
        failures.append(what)

# create, read, duplicate
s, ann, r = call("POST", "/v1/users", {"email": "Ann@Example.com", "name": "Ann", "profile": {"city": "Oslo", "tier": 2}})
check(s == 201 and ann["email"] == "ann@example.com" and ann["profile"]["city"] == "Oslo", f"create: {s} {ann}")
check(r.getheader("Location") == f"/v1/users/{ann['id']}", "create: Location")
s, got, _ = call("GET", f"/v1/users/{ann['id']}")
check(s == 200 and got == ann, f"get: {s} {got}")
s, dup, _ = call("POST", "/v1/users", {"email": "ANN@example.com", "name": "Other"})
check(s == 409 and dup["reason"] == "EMAIL_TAKEN" and dup["metadata"]["field"] == "email", f"duplicate email: {s} {dup}")

# validation: every problem at once, with field paths
s, bad, _ = call("POST", "/v1/users", {"email": "not-an-email", "name": "", "age": 3, "profile": [1]})
check(s == 400 and bad["reason"] == "VALIDATION_FAILED", f"validation: {s} {bad}")
check(set(bad.get("metadata", {})) >= {"email", "name", "age", "profile"}, f"validation fields: {bad}")
s, bad, _ = call("POST", "/v1/users", {"email": 42, "name": "x"})
check(s == 400 and "email" in bad.get("metadata", {}), f"wrong type: {s} {bad}")
s, bad, _ = call("POST", "/v1/users", raw='{"email": "a@b.c", "name": ')
check(s == 400 and bad["reason"] == "MALFORMED_JSON", f"malformed: {s} {bad}")
s, bad, _ = call("POST", "/v1/users", raw='{"email":"a@b.cd","name":"x"}', headers={"Content-Type": "text/plain"})
check(s == 415, f"content type: {s} {bad}")
s, bad, _ = call("POST", "/v1/users", {"email": "big@x.io", "name": "Big", "profile": {"blob": "x" * 70000}})
check(s == 413, f"oversize body: {s}")
s, bad, _ = call("POST", "/v1/users", {"email": "big@x.io", "name": "Big", "profile": {"blob": "x" * 17000}})
check(s == 400 and "profile" in bad.get("metadata", {}), f"profile too big: {s} {bad}")
s, bad, _ = call("GET", "/v1/users/abc")
check(s == 400 and bad["reason"] == "BAD_ID", f"bad id: {s} {bad}")
s, bad, _ = call("GET", "/v1/users/999999")
check(s == 404 and bad["reason"] == "USER_NOT_FOUND", f"missing: {s} {bad}")

# SQL injection in every string parameter is stored or matched as data
evil = "x'); DROP TABLE users; --"
s, e, _ = call("POST", "/v1/users", {"email": "evil@x.io", "name": evil, "profile": {"note": evil}})
check(s == 201 and e["name"] == evil, f"injection create: {s} {e}")
s, page, _ = call("GET", "/v1/users?email=" + urllib.parse.quote("evil@x.io' OR '1'='1"))
check(s == 200 and page["users"] == [], f"injection email filter: {s} {page}")
s, page, _ = call("GET", "/v1/users?" + urllib.parse.urlencode({"profile.note": evil}))
check(s == 200 and [x["id"] for x in page["users"]] == [e["id"]], f"injection profile filter: {s} {page}")
s, bad, _ = call("GET", "/v1/users?" + urllib.parse.urlencode({"profile.a'b": "1"}))
check(s == 400, f"bad profile key: {s}")
s, up, _ = call("PUT", "/v1/users/by-external-id/" + urllib.parse.quote(evil, safe=""), {"email": "evil2@x.io", "name": "E"})
check(s == 200 and up["external_id"] == evil, f"injection upsert: {s} {up}")
s, _, _ = call("GET", f"/v1/users/{ann['id']}")
check(s == 200, "the table is still there")

# patch, including a conflict and an empty patch
s, p, _ = call("PATCH", f"/v1/users/{ann['id']}", {"name": "Anne", "profile": {"city": "Bergen"}})
check(s == 200 and p["name"] == "Anne" and p["profile"] == {"city": "Bergen"} and p["email"] == ann["email"], f"patch: {s} {p}")
check(p["updated_at"] >= ann["updated_at"] and p["created_at"] == ann["created_at"], "patch timestamps")
s, bad, _ = call("PATCH", f"/v1/users/{ann['id']}", {})
check(s == 400, f"empty patch: {s} {bad}")
s, bad, _ = call("PATCH", f"/v1/users/{ann['id']}", {"email": "evil@x.io"})
check(s == 409, f"patch to a taken email: {s} {bad}")
s, bad, _ = call("PATCH", "/v1/users/999999", {"name": "x"})
check(s == 404, f"patch missing: {s}")

# ETag is the row's version: If-Match with a stale one is refused (412), with the current one applies
s, cur, r = call("GET", f"/v1/users/{ann['id']}")
tag = r.getheader("ETag")
check(s == 200 and tag and tag.startswith('"') and tag.endswith('"'), f"etag: {tag}")
s, p1, r1 = call("PATCH", f"/v1/users/{ann['id']}", {"name": "Annie"}, headers={"If-Match": tag})
check(s == 200 and p1["name"] == "Annie" and r1.getheader("ETag") not in (None, tag), f"if-match current: {s} {p1}")
s, bad, _ = call("PATCH", f"/v1/users/{ann['id']}", {"name": "Stale"}, headers={"If-Match": tag})
check(s == 412 and bad["reason"] == "VERSION_MISMATCH", f"if-match stale: {s} {bad}")
s, bad, _ = call("PATCH", f"/v1/users/{ann['id']}", {"name": "Stale"}, headers={"If-Match": "W/\"x\""})
check(s == 412, f"if-match unmatchable: {s} {bad}")
s, bad, _ = call("DELETE", f"/v1/users/{ann['id']}", headers={"If-Match": tag})
check(s == 412, f"delete with a stale If-Match: {s} {bad}")
s, cur, _ = call("GET", f"/v1/users/{ann['id']}")
check(s == 200 and cur["name"] == "Annie", f"stale writes changed nothing: {s} {cur}")

# Concurrent patches of different fields lose neither: each is written at the version it read.
def patcher(field, make):
    for i in range(15):
        s, _, _ = call("PATCH", f"/v1/users/{ann['id']}", {field: make(i)})
        check(s == 200, f"concurrent patch {field} {i}: {s}")
threads = [threading.Thread(target=patcher, args=("name", lambda i: f"N{i}")),
           threading.Thread(target=patcher, args=("profile", lambda i: {"k": i}))]
for t in threads: t.start()
for t in threads: t.join()
s, cur, _ = call("GET", f"/v1/users/{ann['id']}")
check(s == 200 and cur["name"] == "N14" and cur["profile"] == {"k": 14}, f"concurrent patches: {cur}")

# upsert: insert, then update the same row
s, a, _ = call("PUT", "/v1/users/by-external-id/crm-17", {"email": "crm@x.io", "name": "Crm"})
s2, b, _ = call("PUT", "/v1/users/by-external-id/crm-17", {"email": "crm2@x.io", "name": "Crm Two", "profile": {"k": 1}})
check(s == 200 and s2 == 200 and a["id"] == b["id"] and b["email"] == "crm2@x.io" and b["profile"] == {"k": 1}, f"upsert: {a} {b}")
s, bad, _ = call("PUT", "/v1/users/by-external-id/crm-18", {"email": "crm2@x.io", "name": "Clash"})
check(s == 409, f"upsert email clash: {s} {bad}")

# keyset pagination over 25 more users, filtered by profile
for i in range(25):
    s, _, _ = call("POST", "/v1/users", {"email": f"page{i}@x.io", "name": f"P{i}", "profile": {"team": "pager"}})
    check(s == 201, f"create page{i}: {s}")
seen, cursor, pages = [], None, 0
while True:
    q = {"limit": 10, "profile.team": "pager"}
    if cursor:
        q["cursor"] = cursor
    s, page, _ = call("GET", "/v1/users?" + urllib.parse.urlencode(q))
    check(s == 200, f"page: {s} {page}")
    pages += 1
    seen += [x["id"] for x in page["users"]]
    cursor = page.get("next_cursor")
    if not cursor or pages > 5:
        break
check(pages == 3 and len(seen) == 25 and seen == sorted(set(seen)), f"pagination: {pages} pages, {len(seen)} ids")
s, bad, _ = call("GET", "/v1/users?limit=1000")
check(s == 400 and "limit" in bad["metadata"], f"limit: {s} {bad}")
s, bad, _ = call("GET", "/v1/users?cursor=xyz")
check(s == 400, f"cursor: {s}")

# delete
s, _, _ = call("DELETE", f"/v1/users/{ann['id']}")
check(s == 204, f"delete: {s}")
s, _, _ = call("DELETE", f"/v1/users/{ann['id']}")
check(s == 404, f"delete again: {s}")

# The generated OpenAPI document: valid, two-way with the router, examples valid (tests/openapi/check.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openapi"))
import check as openapi_check
for f in openapi_check.run(base, admin, [
        ("/v1/users", "post", {"email": "ann@example.com"}),                        # name is required
        ("/v1/users", "post", {"email": "ann@example.com", "name": "x" * 101}),     # name too long
        ("/v1/users/{id}", "patch", {"name": "Ann", "nickname": "a"}),              # unknown field
    ], schema_dir=openapi_schema_dir):
    check(False, f)

if failures:
    print("user api failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("user api: ok")
