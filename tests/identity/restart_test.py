"""After an auth-svc restart: a refresh token issued before it still rotates, an access token from before
still verifies, and the bootstrap was applied once."""
import http.client
import json
import sys
import urllib.parse

base, state_path = sys.argv[1:3]
u = urllib.parse.urlparse(base)
state = json.load(open(state_path))


def call(method, path, body=None, token=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    text = r.read()
    return r.status, json.loads(text) if text else None


s, me = call("GET", "/v1/auth/me", token=state["access_token"])
assert s == 200 and me["user_id"] == str(state["ann_id"]), (s, me)
s, t = call("POST", "/v1/auth/refresh", {"refresh_token": state["refresh_token"]})
assert s == 200, (s, t)
s, adm = call("POST", "/v1/auth/login", {"email": "admin@gov.example", "password": "bootstrap-admin-pass-1"})
assert s == 200, (s, adm)
s, audit = call("GET", "/v1/auth/audit", token=adm["access_token"])
boots = [e for e in audit["entries"] if e["action"] == "bootstrap"]
assert s == 200 and len(boots) == 1, (s, boots)
print("identity restart: ok")
