"""An HTTPS server in Python's ssl module (a TLS peer nobody here wrote) for svckit client tests.

usage: tls_peer.py CERT KEY [CLIENT_CA]   prints its port, serves until killed. With CLIENT_CA a
client certificate is required. GET answers "subject=<client CN or ->;sni=<server name asked>".
"""
import http.server
import ssl
import sys

cert, key = sys.argv[1], sys.argv[2]
client_ca = sys.argv[3] if len(sys.argv) > 3 else None
sni_seen = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        peer = self.connection.getpeercert()
        cn = "-"
        if peer:
            for rdn in peer.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
        body = f"subject={cn};sni={sni_seen.get(id(self.connection), '-')};" \
               f"timeout={self.headers.get('X-Request-Timeout-Ms', '-')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
if client_ca:
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED


def on_sni(sock, name, _ctx):
    sni_seen[id(sock)] = name or "-"


ctx.sni_callback = on_sni
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
