# A stand-in OTLP/HTTP collector (no OpenTelemetry Collector is packaged in Debian): accepts
# POST /v1/traces, answers 503 to the first request (to exercise the exporter's retry) and 200 after,
# and writes each accepted body (gunzipped) to OUT_DIR/N.json. Prints its port on stdout.
import gzip, http.server, os, sys, threading

out_dir = sys.argv[1]
count = {"n": 0, "first": True}
lock = threading.Lock()

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/json":
                self.send_response(400); self.end_headers(); return
            if count["first"]:
                count["first"] = False
                self.send_response(503); self.send_header("Retry-After", "0"); self.end_headers(); return
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            count["n"] += 1
            with open(os.path.join(out_dir, "%d.json" % count["n"]), "wb") as f:
                f.write(body)
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
