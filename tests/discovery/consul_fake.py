#!/usr/bin/env python3
"""A FAKE Consul agent: no Consul exists in Debian, so the consul registry is tested against this.

It implements only what svckit's registry uses, as Consul's agent HTTP API documents it:
  PUT  /v1/agent/service/register        register (or replace) a service instance, with one check
  PUT  /v1/agent/service/deregister/<id> remove it
  GET  /v1/agent/services                the registered instances by id
  GET  /v1/health/service/<name>         entries of a service; ?passing only those whose checks pass;
                                         blocking queries: ?index=N&wait=10s answer when the index
                                         moves past N or the wait ends; X-Consul-Index on every answer
and validates what Consul validates there: Name is required; a check needs Interval with HTTP or TCP, and
durations ("10s", "1m", "500ms") must parse; a Port outside 0..65535 is refused. It runs HTTP checks
itself (HTTP: GET, 2xx passing, anything else critical; TCP: a connection that opens), and deregisters an instance that stayed critical
for longer than its DeregisterCriticalServiceAfter. POST /fake/reset-index makes the index go
backwards, as an agent restart does. Loopback only.
usage: consul_fake.py PORTFILE       (writes the port it listens on, then serves until killed)
"""
import json
import re
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Condition()
services = {}  # id -> {"svc": {...}, "check": {...} or None, "status": "passing"|"critical", "critical_since": t}
index = [1]


def bump():
    index[0] += 1
    lock.notify_all()


def duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(s))
    if not m:
        raise ValueError(f"invalid duration {s!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def checker():
    while True:
        time.sleep(0.05)
        now = time.time()
        with lock:
            items = list(services.items())
        for sid, s in items:
            c = s["check"]
            if not c or now < s["next_check"]:
                continue
            s["next_check"] = now + c["interval"]
            try:
                if c["http"]:
                    with urllib.request.urlopen(c["http"], timeout=c["timeout"]) as r:
                        ok = 200 <= r.status < 300
                else:  # TCP: a connection that opens
                    host, _, port = c["tcp"].rpartition(":")
                    socket.create_connection((host.strip("[]"), int(port)), timeout=c["timeout"]).close()
                    ok = True
            except Exception:
                ok = False
            with lock:
                if sid not in services:
                    continue
                status = "passing" if ok else "critical"
                if status != s["status"]:
                    s["status"] = status
                    s["critical_since"] = now if status == "critical" else None
                    bump()
                if status == "critical" and c["deregister_after"] is not None and \
                        now - s["critical_since"] > c["deregister_after"]:
                    del services[sid]
                    bump()


class Agent(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body=None, text=None):
        data = (json.dumps(body) if body is not None else (text or "")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
        self.send_header("X-Consul-Index", str(index[0]))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path == "/v1/agent/service/register":
            try:
                reg = json.loads(raw or b"{}")
                if not isinstance(reg, dict) or not reg.get("Name"):
                    raise ValueError("Missing service name")
                port = reg.get("Port", 0)
                if not isinstance(port, int) or not 0 <= port <= 65535:
                    raise ValueError("Invalid port")
                check = None
                c = reg.get("Check")
                if c:
                    if (c.get("HTTP") or c.get("TCP")) and not c.get("Interval"):
                        raise ValueError("Interval must be > 0 for script, HTTP, or TCP checks")
                    if not c.get("HTTP") and not c.get("TCP"):
                        raise ValueError("a check needs HTTP or TCP (TTL and script checks are not in this fake)")
                    check = {"http": c.get("HTTP"), "tcp": c.get("TCP"), "interval": duration(c.get("Interval", "10s")),
                             "timeout": duration(c.get("Timeout", "10s")),
                             "deregister_after": duration(c["DeregisterCriticalServiceAfter"])
                             if c.get("DeregisterCriticalServiceAfter") else None}
            except (ValueError, json.JSONDecodeError) as e:
                return self.reply(400, text=f"Invalid Service Meta or body: {e}")
            sid = reg.get("ID") or reg["Name"]
            svc = {"ID": sid, "Service": reg["Name"], "Tags": reg.get("Tags") or [],
                   "Address": reg.get("Address", ""), "Port": port, "Meta": reg.get("Meta") or {},
                   "Weights": reg.get("Weights") or {"Passing": 1, "Warning": 1}}
            with lock:
                # A new check starts critical until it first passes (Consul's default).
                services[sid] = {"svc": svc, "check": check, "status": "critical" if check else "passing",
                                 "critical_since": time.time(), "next_check": 0}
                bump()
            return self.reply(200, text="")
        m = re.fullmatch(r"/v1/agent/service/deregister/(.+)", url.path)
        if m:
            with lock:
                if m.group(1) not in services:
                    return self.reply(404, text="Unknown service ID")
                del services[m.group(1)]
                bump()
            return self.reply(200, text="")
        self.reply(404, text="not found")

    def do_POST(self):
        if self.path == "/fake/reset-index":
            with lock:
                index[0] = 1
                lock.notify_all()
            return self.reply(200, text="")
        self.reply(404, text="not found")

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query, keep_blank_values=True)
        if url.path == "/v1/agent/services":
            with lock:
                return self.reply(200, {sid: s["svc"] for sid, s in services.items()})
        m = re.fullmatch(r"/v1/health/service/(.+)", url.path)
        if not m:
            return self.reply(404, text="not found")
        name = m.group(1)
        try:
            want = int(q.get("index", ["0"])[0])
            wait = min(duration(q.get("wait", ["5m"])[0]), 600)
        except ValueError as e:
            return self.reply(400, text=str(e))
        deadline = time.time() + wait
        with lock:
            while want > 0 and index[0] <= want and index[0] >= want and time.time() < deadline:
                lock.wait(max(0.0, deadline - time.time()))
            out = []
            for sid, s in services.items():
                if s["svc"]["Service"] != name:
                    continue
                if "passing" in q and s["status"] != "passing":
                    continue
                out.append({"Node": {"Node": "fake", "Address": "127.0.0.1"}, "Service": s["svc"],
                            "Checks": [{"Status": s["status"], "ServiceID": sid}]})
        self.reply(200, out)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Agent)
    threading.Thread(target=checker, daemon=True).start()
    with open(sys.argv[1], "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
