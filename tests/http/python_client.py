"""Python's http.client (and a raw socket for what http.client will not send) against a svckit server:
keep-alive, pipelining, chunked upload, 100-continue, each limit and the smuggling cases."""
import http.client
import socket
import sys
import time

port = int(sys.argv[1])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


# keep-alive: one connection, several requests
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for _ in range(3):
    conn.request("GET", "/hello")
    r = conn.getresponse()
    check(r.status == 200 and r.read() == b'{"msg":"Hello svckit"}', "keep-alive GET")
    check(not r.will_close, "keep-alive: server wants to close")
# chunked upload via encode_chunked
conn.request("POST", "/echo", body=iter([b"hello ", b"chunked ", b"world"]), encode_chunked=True,
             headers={"Transfer-Encoding": "chunked"})
r = conn.getresponse()
check(r.status == 200 and r.read() == b"hello chunked world", "chunked upload")
# route params
conn.request("GET", "/params/x/y/z")
r = conn.getresponse()
check(r.read() == b"x|y/z", "params")
conn.close()


def raw(data, read_timeout=5.0, pause=None):
    """Sends bytes on a fresh socket, returns everything until the server closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(read_timeout)
    if pause:
        s.sendall(data[:pause[0]])
        time.sleep(pause[1])
        s.sendall(data[pause[0]:])
    else:
        s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        out += b"<open>"
    s.close()
    return out


# pipelining: three requests in one write, answers in order on one connection
out = raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
          b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
          b"GET /params/1/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
check(out.count(b"HTTP/1.1 200 OK") == 3, "pipelining: 3 responses")
# Bodies follow a blank line; a random X-Request-Id may contain "abc" itself.
check(out.index(b"\r\n\r\n{\"msg\":\"Hello svckit") < out.index(b"\r\n\r\nabc") < out.index(b"\r\n\r\n1|2"), "pipelining: order")

# 100-continue by hand: the interim response arrives before we send the body
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
interim = s.recv(1024)
check(interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), "100-continue interim")
s.sendall(b"body")
final = b""
while b"body" not in final:
    final += s.recv(1024)
check(b"200 OK" in final, "100-continue final")
s.close()

# limits and smuggling: status, then the server closes
cases = [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(101)) + b"\r\n", b"431"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", b"413"),
    (b"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n" + b"x" * 17, b"413"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"400"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", b"400"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", b"400"),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdefg\r\n", b"400"),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", b"400"),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nBad\x01Name: 1\r\n\r\n", b"400"),
    (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", b"400"),
    (b"GET /hello HTTP/1.1\nHost: x\n\n", b"400"),
]
for data, status in cases:
    out = raw(data)
    check(out.startswith(b"HTTP/1.1 " + status), "%s for %r: got %r" % (status, data[:50], out[:40]))
    check(not out.endswith(b"<open>"), "connection left open after %s for %r" % (status, data[:50]))

# slowloris: a head that never completes gets 408 after header_timeout (1s in the test server)
out = raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n", read_timeout=5)
check(out.startswith(b"HTTP/1.1 408"), "slowloris 408: %r" % out[:40])

if failures:
    print("python client failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("python http.client: ok")
