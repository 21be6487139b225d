"""Python's ssl module as a real client of a svckit TLS server (tests/http/tls_test.sh).

usage: tls_client.py CHECK PORT CERTS_DIR [ARGS...]
"""
import http.client
import json
import socket
import ssl
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is asked for on purpose

check, port, certs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]


def context(cert=None):
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if cert:
        ctx.load_cert_chain(f"{certs}/{cert}.pem", f"{certs}/{cert}.key")
    return ctx


def get(ctx, path, host="localhost"):
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=5)
    conn.request("GET", path)
    res = conn.getresponse()
    return conn, res.status, res.read()


def fail(msg):
    print(f"python tls: {check}: {msg}")
    sys.exit(1)


if check == "basic":
    # HTTP/1.1 over TLS 1.3 and 1.2, ALPN http/1.1 chosen over h2, keep-alive on one TLS session.
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = context()
        ctx.maximum_version = version
        conn, status, body = get(ctx, "/hello")
        if status != 200 or json.loads(body) != {"msg": "Hello svckit"}:
            fail(f"{version}: {status} {body!r}")
        if conn.sock.selected_alpn_protocol() != "http/1.1":
            fail(f"ALPN {conn.sock.selected_alpn_protocol()!r}")
        if conn.sock.version() != version.name.replace("v1_", "v1."):
            fail(f"version {conn.sock.version()} for {version.name}")
        sock = conn.sock
        conn.request("GET", "/whoami")
        res = conn.getresponse()
        if json.loads(res.read()) != {"tls": True} or conn.sock is not sock:
            fail("keep-alive request on the same TLS connection")
    # A wrong host name is the client's to refuse: the certificate names localhost and 127.0.0.1.
    try:
        context().wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="wrong.example")
        fail("a certificate without wrong.example was accepted")
    except ssl.SSLCertVerificationError:
        pass
elif check == "old-version":
    # A TLS 1.1 client: the server answers with a protocol_version alert.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        get(ctx, "/hello")
        fail("a TLS 1.1 handshake succeeded")
    except ssl.SSLError as e:
        if "PROTOCOL_VERSION" not in str(e.reason).upper():
            fail(f"refused, but not by the server's protocol_version alert: {e}")
elif check == "mtls":
    # Mutual TLS required: no certificate, or one from another CA, fails; the right one is seen.
    for cert in (None, "rogue"):
        try:
            conn, status, body = get(context(cert), "/whoami")
            fail(f"client certificate {cert}: answered {status} {body!r}")
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            pass
    conn, status, body = get(context("client"), "/whoami")
    who = json.loads(body)
    if status != 200 or who.get("subject") != "CN=orders,O=gov" or who.get("uris") != [
        "spiffe://svckit.test/ns/gov/sa/orders"
    ]:
        fail(f"identity {who}")
    if who.get("serial", "").lower() != args[0].lower():
        fail(f"serial {who.get('serial')} != {args[0]}")
elif check == "serial":
    # The serial of the certificate a new connection gets.
    conn, status, body = get(context(), "/hello")
    print(conn.sock.getpeercert()["serialNumber"])
    sys.exit(0)
elif check == "stall":
    # Connects and sends half a ClientHello: dropped after the handshake timeout (args[0] s).
    limit = float(args[0])
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    s.settimeout(limit + 5)
    start = time.monotonic()
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - start
    if data != b"" and not data.startswith(b"\x15"):  # nothing, or a TLS alert, then the close
        fail(f"got {data!r}")
    if data:
        while s.recv(100):
            pass
        took = time.monotonic() - start
    if not (limit * 0.8 <= took <= limit + 2):
        fail(f"dropped after {took:.2f}s, handshake timeout {limit}s")
else:
    fail("unknown check")
print(f"python tls: {check}: ok")
