# The licence service through its HTTP API, as clients see it, on whichever database it runs.
# usage: api_test.py BASE_URL ADMIN_URL OPENAPI_YAML TOKEN_DIR RUN_TAG
import base64, http.client, json, os, sys, threading, urllib.parse
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokens import Minter

base, admin, openapi_schema_dir, token_dir, tag = sys.argv[1:6]
u = urllib.parse.urlparse(base)
mint = Minter(token_dir)
failures = []

def call(method, path, body=None, token=None, headers=None, raw=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
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

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

# Two authorities' clerks, three citizens, an admin; a clerk whose token names no authority.
clerk = mint.token(900, ["clerk"], "Pudong AMR")
clerk2 = mint.token(901, ["clerk"], "Xuhui PSB")
clerk_none = mint.token(902, ["clerk"])
alice_id, bob_id = "1001", "1002"
alice = mint.token(alice_id, ["citizen"])
bob = mint.token(bob_id, ["citizen"])
root = mint.token(1, ["admin"])

def licence(number, holder=alice_id, **over):
    body = {"holder": holder, "type": "driving_licence", "number": f"{tag}-{number}",
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00+08:00",
            "attributes": {"name": "李雷", "class": "C1", "organ_donor": False}}
    body.update(over)
    return body

# catalogue (public)
s, types, _ = call("GET", "/v1/license-types")
codes = [t["code"] for t in types["types"]] if s == 200 else []
check(s == 200 and {"business_licence", "driving_licence", "professional_qualification"} <= set(codes), f"types: {s} {types}")
check(s == 200 and types["types"][0]["schema"]["type"] == "object", "types carry their schema")

# issue
s, lic, r = call("POST", "/v1/licenses", licence("A1"), clerk)
check(s == 201 and lic["authority"] == "Pudong AMR" and lic["holder"] == alice_id and lic["status"] == "active",
      f"issue: {s} {lic}")
check(r.getheader("Location") == f"/v1/licenses/{lic['id']}" and r.getheader("ETag") == '"1"', "issue headers")
check(lic["valid_until"] == "2098-12-31T16:00:00Z", f"valid_until in UTC: {lic.get('valid_until')}")

# the QR text verifies independently: Ed25519 over the canonical form, with the published key
s, jwks, _ = call("GET", "/v1/licenses/keys")
keys = {k["kid"]: k for k in jwks["keys"]}
check(s == 200 and lic["kid"] in keys and all("d" not in k for k in jwks["keys"]), f"keys: {s} {jwks}")
prefix, doc64, sig64 = lic["qr"].split(".")
canon = b64d(doc64)
check(prefix == "SVCL1" and b64d(sig64) == b64d(lic["signature"]), "qr parts")
try:
    Ed25519PublicKey.from_public_bytes(b64d(keys[lic["kid"]]["x"])).verify(b64d(lic["signature"]), canon)
except Exception as e:
    failures.append(f"independent signature check: {e!r}")
signed = {k: lic[k] for k in ("id", "type", "number", "holder", "authority", "valid_from", "valid_until",
                              "attributes", "issued_at", "kid")}
check(canon == json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
      f"canonical form: {canon!r}")

# who sees what: 404, not 403, for another's
s, got, r = call("GET", f"/v1/licenses/{lic['id']}", token=alice)
check(s == 200 and got == lic and r.getheader("ETag") == '"1"', f"citizen reads own: {s} {got}")
s, bad, _ = call("GET", f"/v1/licenses/{lic['id']}", token=bob)
check(s == 404 and bad["reason"] == "LICENSE_NOT_FOUND", f"citizen reads another's: {s} {bad}")
s, _, _ = call("GET", f"/v1/licenses/{lic['id']}", token=clerk)
check(s == 200, f"clerk reads own authority's: {s}")
s, _, _ = call("GET", f"/v1/licenses/{lic['id']}", token=clerk2)
check(s == 404, f"clerk of another authority: {s}")
s, _, _ = call("GET", f"/v1/licenses/{lic['id']}", token=root)
check(s == 200, f"admin reads any: {s}")
s, _, _ = call("GET", "/v1/licenses/no-such-id", token=root)
check(s == 404, f"missing: {s}")

# the QR code as SVG: for whoever may read the licence, inert on its own (the unit test decodes it)
s, svg, r = call("GET", f"/v1/licenses/{lic['id']}/qr.svg", token=alice)
svg = svg.decode() if isinstance(svg, bytes) else str(svg)
check(s == 200 and r.getheader("Content-Type") == "image/svg+xml" and svg.startswith("<svg "), f"qr.svg: {s} {svg[:80]}")
check("sandbox" in (r.getheader("Content-Security-Policy") or "") and r.getheader("X-Content-Type-Options") == "nosniff",
      f"qr.svg is inert: {r.getheaders()}")
check("<script" not in svg and svg.count("<path") == 1, "qr.svg: one path, no script")
s, bad, _ = call("GET", f"/v1/licenses/{lic['id']}/qr.svg", token=bob)
check(s == 404, f"qr.svg of another's licence: {s}")
s, _, _ = call("GET", f"/v1/licenses/{lic['id']}/qr.svg")
check(s == 401, f"qr.svg without a token: {s}")

# authentication and roles
s, bad, r = call("POST", "/v1/licenses", licence("A2"), alice)
check(s == 403, f"citizen issues: {s} {bad}")
s, bad, r = call("POST", "/v1/licenses", licence("A2"), clerk_none)
check(s == 403 and bad["reason"] == "NO_AUTHORITY", f"clerk without authority: {s} {bad}")
s, bad, r = call("GET", f"/v1/licenses/{lic['id']}")
check(s == 401 and "Bearer" in (r.getheader("WWW-Authenticate") or ""), f"no token: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("A2"))
check(s == 401, f"no token issue: {s}")
expired = mint.token(alice_id, ["citizen"], ttl=60, iat=1_600_000_000)
s, bad, _ = call("GET", f"/v1/licenses/{lic['id']}", token=expired)
check(s == 401, f"expired token: {s} {bad}")
s, bad, _ = call("GET", f"/v1/licenses/{lic['id']}", token=mint.forged(alice_id, ["citizen"]))
check(s == 401, f"forged token: {s} {bad}")
s, bad, _ = call("GET", "/v1/audit", token=mint.forged(1, ["admin"]))
check(s == 401, f"forged admin token: {s}")

# validation
s, bad, _ = call("POST", "/v1/licenses", raw='{"holder": "1001", ', token=clerk)
check(s == 400 and bad["reason"] == "MALFORMED_JSON", f"malformed: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", dict(licence("V1"), colour="red"), clerk)
check(s == 400 and "colour" in bad.get("metadata", {}), f"unknown field: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("V2", attributes={"name": "x", "class": "Z9", "extra": 1}), clerk)
check(s == 400 and {"attributes.class", "attributes.extra"} <= set(bad.get("metadata", {})), f"schema: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("V3", valid_until="2025-01-01T00:00:00Z"), clerk)
check(s == 400 and "valid_until" in bad.get("metadata", {}), f"until before from: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("V4", type="fishing_licence"), clerk)
check(s == 400 and "type" in bad.get("metadata", {}), f"unknown type: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("V5", holder="12abc"), clerk)
check(s == 400 and "holder" in bad.get("metadata", {}), f"bad holder: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("V6", attributes={"name": "x", "class": "C1", "n": 1.5}), clerk)
check(s == 400, f"fraction in attributes: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("V7", attributes={"name": "x" * 70000, "class": "C1"}), clerk)
check(s == 413, f"oversize body: {s}")
s, bad, _ = call("POST", "/v1/licenses/verify", {"text": "x" * 70000})
check(s == 413, f"oversize verify body: {s}")

# duplicate number
s, bad, _ = call("POST", "/v1/licenses", licence("A1", holder=bob_id), clerk)
check(s == 409 and bad["reason"] == "LICENSE_NUMBER_TAKEN", f"duplicate number: {s} {bad}")
s, other, _ = call("POST", "/v1/licenses", licence("A1", type="professional_qualification",
                   attributes={"name": "Li", "profession": "engineer", "level": "senior"}), clerk)
check(s == 201, f"same number, another type: {s} {other}")

# Idempotency-Key: a retry answers the first result; another body under the key is refused
idem = {"Idempotency-Key": f"{tag}-retry-1"}
s1, first, _ = call("POST", "/v1/licenses", licence("I1"), clerk, headers=idem)
s2, again, r2 = call("POST", "/v1/licenses", licence("I1"), clerk, headers=idem)
check(s1 == 201 and s2 == 201 and again == first and r2.getheader("Idempotent-Replayed") == "true",
      f"idempotent retry: {s1} {s2} {first} {again}")
s, bad, _ = call("POST", "/v1/licenses", licence("I2"), clerk, headers=idem)
check(s == 422 and bad["reason"] == "IDEMPOTENCY_KEY_REUSED", f"key reused with another body: {s} {bad}")
s, bad, _ = call("POST", "/v1/licenses", licence("I1"), clerk2, headers=idem)
check(s == 409, f"another clerk's same key is its own (the number is taken): {s} {bad}")
# concurrent duplicates: one licence, every answer the same
results = []
def racer():
    results.append(call("POST", "/v1/licenses", licence("I3"), clerk, headers={"Idempotency-Key": f"{tag}-race"})[:2])
threads = [threading.Thread(target=racer) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
check(len({json.dumps(b, sort_keys=True) for _, b in results}) == 1 and all(st == 201 for st, _ in results),
      f"concurrent retries: {[st for st, _ in results]}")

# injection-shaped values are data
evil = "x'); DROP TABLE licenses; --"
s, e, _ = call("POST", "/v1/licenses", licence("'; DELETE FROM audit_log; --",
               attributes={"name": evil, "class": "C1"}), clerk)
check(s == 201 and e["attributes"]["name"] == evil and e["number"].endswith("'; DELETE FROM audit_log; --"),
      f"injection stored verbatim: {s} {e}")
s, page, _ = call("GET", "/v1/licenses?" + urllib.parse.urlencode({"holder": "1001' OR '1'='1"}), token=root)
check(s == 400, f"injection in holder filter: {s}")

# listing: a citizen's own, a page at a time; someone else's holder filter shows nothing
for i in range(5):
    s, _, _ = call("POST", "/v1/licenses", licence(f"P{i}", holder=bob_id), clerk2)
    check(s == 201, f"issue for bob {i}: {s}")
seen, cursor, pages = [], None, 0
while True:
    q = {"limit": 2}
    if cursor:
        q["cursor"] = cursor
    s, page, _ = call("GET", "/v1/licenses?" + urllib.parse.urlencode(q), token=bob)
    check(s == 200, f"page: {s} {page}")
    pages += 1
    seen += [x["id"] for x in page["licenses"]]
    check(all(x["holder"] == bob_id for x in page["licenses"]), "bob sees only his")
    cursor = page.get("next_cursor")
    if not cursor or pages > 5:
        break
check(pages == 3 and len(seen) == 5 and len(set(seen)) == 5, f"pagination: {pages} pages, {len(seen)} ids")
s, page, _ = call("GET", "/v1/licenses?holder=" + alice_id, token=bob)
check(s == 200 and page["licenses"] == [], f"citizen listing another holder: {s} {page}")
s, page, _ = call("GET", "/v1/licenses?limit=100&holder=" + bob_id, token=clerk)
check(s == 200 and page["licenses"] == [], f"clerk sees only their authority's: {s} {page}")
s, page, _ = call("GET", "/v1/licenses?limit=100&holder=" + bob_id, token=clerk2)
check(s == 200 and len(page["licenses"]) == 5, f"clerk2's: {s}")
s, bad, _ = call("GET", "/v1/licenses?limit=1000", token=root)
check(s == 400, f"limit: {s}")
s, bad, _ = call("GET", "/v1/licenses?cursor=forged", token=root)
check(s == 400, f"cursor: {s}")

# verify: valid, by QR and by JSON; tampered JSON and QR are forged; public (no token)
s, v, _ = call("POST", "/v1/licenses/verify", {"text": lic["qr"]})
check(s == 200 and v["status"] == "valid" and v["license"]["id"] == lic["id"], f"verify qr: {s} {v}")
s, v, _ = call("POST", "/v1/licenses/verify", lic)
check(s == 200 and v["status"] == "valid", f"verify json: {s} {v}")
tampered = json.loads(json.dumps(lic))
tampered["attributes"]["class"] = "A1"
s, v, _ = call("POST", "/v1/licenses/verify", tampered)
check(s == 200 and v["status"] == "forged" and "license" not in v, f"verify tampered json: {s} {v}")
flipped = bytearray(canon)
flipped[canon.index(b"C1")] = ord("A")
fake_qr = "SVCL1." + base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode() + "." + sig64
s, v, _ = call("POST", "/v1/licenses/verify", {"text": fake_qr})
check(s == 200 and v["status"] == "forged", f"verify flipped byte: {s} {v}")
s, v, _ = call("POST", "/v1/licenses/verify", {"text": "not a qr"})
check(s == 400, f"verify garbage: {s} {v}")
s, v, _ = call("POST", "/v1/licenses/verify", raw="{")
check(s == 400, f"verify malformed: {s}")

# revoke: If-Match stale 412, current 200, twice 409; other authority 404; citizen 403
s, cur, r = call("GET", f"/v1/licenses/{lic['id']}", token=clerk)
tag_now = r.getheader("ETag")
s, bad, _ = call("POST", f"/v1/licenses/{lic['id']}/revoke", {"reason": "test"}, clerk2)
check(s == 404, f"revoke by another authority: {s}")
s, bad, _ = call("POST", f"/v1/licenses/{lic['id']}/revoke", {"reason": "test"}, alice)
check(s == 403, f"revoke by citizen: {s}")
s, bad, _ = call("POST", f"/v1/licenses/{lic['id']}/revoke", {}, clerk)
check(s == 400 and "reason" in bad.get("metadata", {}), f"revoke without reason: {s} {bad}")
s, bad, _ = call("POST", f"/v1/licenses/{lic['id']}/revoke", {"reason": "x" * 501}, clerk)
check(s == 400, f"revoke reason too long: {s}")
s, bad, _ = call("POST", f"/v1/licenses/{lic['id']}/revoke", {"reason": "stale"}, clerk, headers={"If-Match": '"7"'})
check(s == 412 and bad["reason"] == "VERSION_MISMATCH", f"revoke stale If-Match: {s} {bad}")
s, rev, r = call("POST", f"/v1/licenses/{lic['id']}/revoke", {"reason": "lost; reissued"}, clerk,
                 headers={"If-Match": tag_now})
check(s == 200 and rev["status"] == "revoked" and rev["revocation_reason"] == "lost; reissued" and
      r.getheader("ETag") == '"2"', f"revoke: {s} {rev}")
s, bad, _ = call("POST", f"/v1/licenses/{lic['id']}/revoke", {"reason": "again"}, root)
check(s == 409 and bad["reason"] == "ALREADY_REVOKED", f"revoke twice: {s} {bad}")
s, v, _ = call("POST", "/v1/licenses/verify", {"text": lic["qr"]})
check(s == 200 and v["status"] == "revoked" and "lost; reissued" in v["reason"], f"verify revoked: {s} {v}")

# the validity window
s, old, _ = call("POST", "/v1/licenses", licence("E1", valid_from="2020-01-01T00:00:00Z",
                 valid_until="2021-01-01T00:00:00Z"), clerk)
s2, v, _ = call("POST", "/v1/licenses/verify", {"text": old["qr"]} if s == 201 else {})
check(s == 201 and s2 == 200 and v["status"] == "expired", f"expired licence: {s} {s2} {v}")
s, future, _ = call("POST", "/v1/licenses", licence("F1", valid_from="2090-01-01T00:00:00Z"), clerk)
s2, v, _ = call("POST", "/v1/licenses/verify", {"text": future["qr"]} if s == 201 else {})
check(s == 201 and s2 == 200 and v["status"] == "not_yet_valid", f"future licence: {s} {s2} {v}")

# audit: admins only; it holds the issues and the revocation with who, role, where, request id
s, _, _ = call("GET", "/v1/audit", token=clerk)
check(s == 403, f"audit as clerk: {s}")
s, _, _ = call("GET", "/v1/audit", token=alice)
check(s == 403, f"audit as citizen: {s}")
s, _, _ = call("GET", "/v1/audit")
check(s == 401, f"audit without token: {s}")
entries, cursor = [], None
while True:
    s, page, _ = call("GET", "/v1/audit?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""), token=root)
    check(s == 200, f"audit: {s} {page}")
    if s != 200:
        break
    entries += page["entries"]
    cursor = page.get("next_cursor")
    if not cursor:
        break
mine = [e for e in entries if e["license_id"] == lic["id"]]
check([e["action"] for e in mine] == ["license.issue", "license.revoke"], f"audit of the licence: {mine}")
check(mine and mine[0]["subject"] == "900" and mine[0]["role"] == "clerk" and mine[0]["client_ip"] and
      mine[0]["request_id"], f"audit fields: {mine}")
s, x, r = call("POST", "/v1/licenses", licence("X1"), clerk, headers={"X-Forwarded-For": "203.0.113.9",
                                                                       "X-Request-Id": f"req-{tag}-x1"})
s, page, _ = call("GET", "/v1/audit?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""), token=root)
xe = [e for e in entries + page["entries"] if e["license_id"] == x.get("id")]
check(len(xe) == 1 and xe[0]["forwarded_for"] == "203.0.113.9" and xe[0]["request_id"] == f"req-{tag}-x1",
      f"audit from where: {xe}")
issued_ids = {e["license_id"] for e in entries if e["action"] == "license.issue"}
check(first["id"] in issued_ids and len([e for e in entries if e["license_id"] == first["id"]]) == 1,
      "an idempotent replay is audited once")

# The generated OpenAPI document: valid, two-way with the router, examples valid (tests/openapi/check.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openapi"))
import check as openapi_check
for f in openapi_check.run(base, admin, [
        ("/v1/licenses", "post", {"holder": "7", "type": "driving_licence", "number": "DL-1"}),  # no dates, no attributes
        ("/v1/licenses/{id}/revoke", "post", {"reason": ""}),                                       # empty reason
    ], schema_dir=openapi_schema_dir):
    check(False, f)

if failures:
    print("license api failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("license api: ok")
