# A stand-in OTLP/HTTP collector (no OpenTelemetry Collector is packaged in Debian; named as such):
# accepts POST /v1/traces, /v1/logs and /v1/metrics with JSON bodies (gzip or not) and writes each
# accepted body, gunzipped, to OUT_DIR/<signal>-N.json. With --fail-first it answers 503 to the first
# request of each signal, to exercise the exporters' retries. Prints its port on stdout.
import gzip, http.server, os, sys, threading

out_dir = sys.argv[1]
fail_first = "--fail-first" in sys.argv[2:]
count = {}
lock = threading.Lock()
SIGNALS = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/metrics": "metrics"}

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signal = SIGNALS.get(self.path)
        with lock:
            if signal is None or self.headers.get("Content-Type") != "application/json":
                self.send_response(400); self.end_headers(); return
            n = count.get(signal, 0)
            if fail_first and n == 0:
                count[signal] = -1  # answered 503 once; the next is number 1
                self.send_response(503); self.send_header("Retry-After", "0"); self.end_headers(); return
            n = max(n, 0) + 1
            count[signal] = n
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with open(os.path.join(out_dir, "%s-%d.json" % (signal, n)), "wb") as f:
                f.write(body)
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
