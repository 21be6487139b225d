#!/usr/bin/python3
"""HTTP/1.1 conformance cases from the MUST statements of RFC 9112 and RFC 9110 (docs/reliability.md).

Each case writes raw bytes on a socket and reads what comes back as a client would (RFC 9112 §6.3:
no body after HEAD, 1xx, 204 and 304; Content-Length; chunked; else until close), so a server that
frames a response wrongly leaves bytes where the next status line should start and fails the case.
The same bytes go to every server named on the command line; the table shows each one's answer.

usage: http_conformance.py NAME=PORT [NAME=PORT ...] [--gate NAME] [--markdown]
  --gate NAME   exit 1 when NAME fails a case (the others' deviations are reported, not fatal)
  --markdown    print the table as Markdown (docs/reliability.md)
"""
import socket
import sys
import time

HOST = "127.0.0.1"


class Resp:
    def __init__(self, version, status, reason, headers, body):
        self.version, self.status, self.reason, self.headers, self.body = version, status, reason, headers, body

    def h(self, name):
        """The values of a field, in order ([] when absent)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def h1(self, name):
        v = self.h(name)
        return v[0] if v else None

    def conn_tokens(self):
        return {t.strip().lower() for v in self.h("Connection") for t in v.split(",")}


class Malformed(Exception):
    pass


class Client:
    """One connection: send bytes, read responses framed per RFC 9112 §6.3."""

    def __init__(self, port, timeout=2.0):
        self.s = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.eof = False
        self.reset = False

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError:
            self.reset = True

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.s.settimeout(left)
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            self.eof = self.reset = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _need(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise Malformed("short read")

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise Malformed("no line")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_response(self, method="GET", timeout=2.0):
        """The next response (interim 1xx ones included), or None when nothing came."""
        deadline = time.monotonic() + timeout
        if not self.buf and not self._fill(deadline):
            return None
        line = self._line(deadline).decode("latin-1")
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise Malformed("not a status line: %r" % line[:60])
        status = int(parts[1])
        headers = []
        while True:
            hl = self._line(deadline).decode("latin-1")
            if hl == "":
                break
            if ":" not in hl:
                raise Malformed("bad header line %r" % hl[:60])
            k, v = hl.split(":", 1)
            headers.append((k, v.strip()))
        r = Resp(parts[0], status, parts[2] if len(parts) > 2 else "", headers, b"")
        if method == "HEAD" or status < 200 or status in (204, 304):
            return r
        te = ",".join(r.h("Transfer-Encoding")).lower()
        if "chunked" in te:
            body = b""
            while True:
                size = int(self._line(deadline).split(b";")[0], 16)
                if size == 0:
                    while self._line(deadline) != b"":
                        pass
                    break
                self._need(size + 2, deadline)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
            r.body = body
        elif r.h1("Content-Length") is not None:
            n = int(r.h1("Content-Length"))
            self._need(n, deadline)
            r.body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while self._fill(deadline):
                pass
            r.body, self.buf = self.buf, b""
        return r

    def responses(self, methods, timeout=2.0):
        """Final responses for `methods` in order (interim ones skipped); stops at the first missing."""
        out = []
        for m in methods:
            while True:
                r = self.read_response(m, timeout)
                if r is None or r.status >= 200:
                    break
            if r is None:
                break
            out.append(r)
        return out

    def closed(self, wait=1.0):
        """True when the server closed the connection (EOF or reset) within `wait` seconds (generous: a
        loaded machine may be slow to close; a connection left open costs the whole wait) and sent
        nothing more; extra bytes make the case fail (they are left in self.buf)."""
        deadline = time.monotonic() + wait
        while self._fill(deadline):
            pass
        return self.eof

    def close(self):
        self.s.close()


def req(method="GET", target="/rfc", version="HTTP/1.1", host="a.example", headers=(), body=b""):
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: " + host)
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def summary(rs, c=None, closed=None):
    s = " ".join(str(r.status) for r in rs) or "none"
    if closed is not None:
        s += ", closed" if closed else ", open"
    if c is not None and c.buf:
        s += ", %d stray bytes" % len(c.buf)
    return s


# ---- cases ------------------------------------------------------------------------------------------
# Each takes a port and returns (ok, observed). They are listed in CASES with the section they check.

def exchange(port, data, methods, wait_close=0.3):
    c = Client(port)
    try:
        c.send(data)
        rs = c.responses(methods)
        closed = c.closed(wait_close)
        return rs, closed, c
    finally:
        c.close()


def rejected(port, data, statuses=(400,)):
    """The request is refused with one of `statuses` and the connection is closed after it."""
    rs, closed, c = exchange(port, data + req(host="after.example"), ["GET", "GET"], wait_close=3.0)
    ok = len(rs) == 1 and rs[0].status in statuses and closed and not c.buf
    return ok, summary(rs, c, closed)


def served(port, data, methods=("GET",), check=None):
    """Every request answered 2xx, the connection stays open, nothing stray."""
    rs, closed, c = exchange(port, data, list(methods))
    ok = len(rs) == len(methods) and all(200 <= r.status < 300 for r in rs) and not closed and not c.buf
    if ok and check:
        ok = check(rs)
    return ok, summary(rs, c, closed)


def body_of(r):
    return r.body.decode("latin-1")


def c_leading_crlf(port):
    return served(port, b"\r\n" + req())


def c_bare_cr(port):
    # A bare CR taken for a line end would make "Content-Length: 40" a field and swallow the second
    # request as body. Rejecting, or reading the CR as SP, answers the two requests apart.
    data = req(headers=["X-A: a\rContent-Length: 40"]) + req(host="second.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    ok = (len(rs) == 1 and rs[0].status == 400 and closed) or (
        len(rs) == 2 and rs[0].status == 200 and "second.example" in body_of(rs[1]))
    return ok and not c.buf, summary(rs, c, closed)


def c_version_case(port):
    return rejected(port, req(version="http/1.1"))


def c_space_in_target(port):
    return rejected(port, req(target="/r fc"))


def c_method_case(port):
    rs, closed, c = exchange(port, req(method="get"), ["GET"])
    return len(rs) == 1 and not 200 <= rs[0].status < 300, summary(rs, c, closed)


def c_host_missing(port):
    return rejected(port, req(host=None))


def c_host_repeated(port):
    return rejected(port, req(headers=["Host: b.example"]))


def c_host_repeated_http10(port):
    return rejected(port, req(version="HTTP/1.0", headers=["Host: b.example"]))


def c_host_invalid(port):
    return rejected(port, req(host="a.example/evil"))


def c_host_optional_http10(port):
    rs, closed, c = exchange(port, req(version="HTTP/1.0", host=None), ["GET"], wait_close=3.0)
    return len(rs) == 1 and rs[0].status == 200 and closed, summary(rs, c, closed)


def c_field_name_case(port):
    data = b"GET /rfc HTTP/1.1\r\nhOsT: mixed.example\r\n\r\n"
    return served(port, data, check=lambda rs: "mixed.example" in body_of(rs[0]))


def c_absolute_form(port):
    data = req(target="http://abs.example/rfc?q=1", host="other.example")
    return served(port, data, check=lambda rs: body_of(rs[0]).split()[1:] == ["abs.example", "/rfc"])


def c_absolute_form_no_host(port):
    return rejected(port, req(target="http://abs.example/rfc", host=None))


def c_connect(port):
    rs, closed, c = exchange(port, req(method="CONNECT", target="abs.example:443", host="abs.example:443"),
                             ["CONNECT"])
    return len(rs) == 1 and rs[0].status in (405, 501), summary(rs, c, closed)


def c_authority_form_not_connect(port):
    return rejected(port, req(target="abs.example:80"))


def c_options_asterisk(port):
    return served(port, req(method="OPTIONS", target="*"), methods=["OPTIONS"])


def c_asterisk_not_options(port):
    return rejected(port, req(target="*"))


def c_space_before_colon(port):
    return rejected(port, req(headers=["X-A : b"]))


def c_obs_fold(port):
    # A fold taken for a field of its own would frame 40 bytes of body and swallow the second request.
    data = req(headers=["X-A: a", " Content-Length: 40"]) + req(host="second.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    ok = (len(rs) == 1 and rs[0].status == 400 and closed) or (
        len(rs) == 2 and rs[0].status == 200 and "second.example" in body_of(rs[1]))
    return ok and not c.buf, summary(rs, c, closed)


def c_space_before_first_field(port):
    data = b"GET /rfc HTTP/1.1\r\n Host: evil.example\r\nHost: a.example\r\n\r\n"
    rs, closed, c = exchange(port, data, ["GET"], wait_close=3.0)
    ok = len(rs) == 1 and ((rs[0].status == 400 and closed) or
                           (rs[0].status == 200 and "a.example" in body_of(rs[0])))
    return ok and not c.buf, summary(rs, c, closed)


def c_nul_in_value(port):
    data = req(headers=["X-A: a\x00b"]) + req(host="second.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    ok = (len(rs) == 1 and rs[0].status == 400 and closed) or (len(rs) == 2 and rs[0].status == 200)
    return ok and not c.buf, summary(rs, c, closed)


def c_bad_field_name(port):
    # Refused, or the line dropped (nginx's ignore_invalid_headers): a server that trimmed the name to
    # Content-Length would frame 40 bytes of body and swallow the second request.
    data = req(method="POST", headers=["Content-Length(: 40"]) + req(host="second.example")
    rs, closed, c = exchange(port, data, ["POST", "GET"], wait_close=3.0)
    ok = (len(rs) == 1 and rs[0].status == 400 and closed) or (
        len(rs) == 2 and rs[0].status == 200 and "second.example" in body_of(rs[1]))
    return ok and not c.buf, summary(rs, c, closed)


def c_te_and_cl(port):
    # Either refused, or framed by chunked (empty body); the connection closes either way, so the
    # request written after it is never answered.
    data = req(method="POST", headers=["Content-Length: 5", "Transfer-Encoding: chunked"], body=b"0\r\n\r\n")
    rs, closed, c = exchange(port, data + req(host="after.example"), ["POST", "GET"], wait_close=3.0)
    ok = len(rs) == 1 and rs[0].status in (200, 400) and closed and not c.buf
    return ok, summary(rs, c, closed)


def c_te_in_http10(port):
    data = req(method="POST", version="HTTP/1.0", headers=["Connection: keep-alive", "Transfer-Encoding: chunked"],
               body=b"0\r\n\r\n")
    rs, closed, c = exchange(port, data + req(host="after.example"), ["POST", "GET"], wait_close=3.0)
    return len(rs) == 1 and closed and not c.buf, summary(rs, c, closed)


def c_unknown_coding(port):
    return rejected(port, req(method="POST", headers=["Transfer-Encoding: frobnicate"]), statuses=(501,))


def c_chunked_not_final(port):
    return rejected(port, req(method="POST", headers=["Transfer-Encoding: chunked, gzip"]))


def c_cl_invalid(port):
    return rejected(port, req(method="POST", headers=["Content-Length: 5x"], body=b"hello"))


def c_cl_negative(port):
    return rejected(port, req(method="POST", headers=["Content-Length: -1"]))


def c_cl_conflicting(port):
    return rejected(port, req(method="POST", headers=["Content-Length: 5", "Content-Length: 6"], body=b"hello!"))


def c_no_length_no_body(port):
    data = req(method="POST") + req(host="second.example")
    return served(port, data, methods=["POST", "GET"],
                  check=lambda rs: body_of(rs[0]).startswith("POST") and "second.example" in body_of(rs[1]))


def c_cl_body(port):
    data = req(method="POST", headers=["Content-Length: 5"], body=b"hello") + req(host="second.example")
    return served(port, data, methods=["POST", "GET"], check=lambda rs: "second.example" in body_of(rs[1]))


def c_chunked(port):
    data = req(method="POST", headers=["Transfer-Encoding: chunked"], body=b"5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n")
    return served(port, data + req(host="second.example"), methods=["POST", "GET"],
                  check=lambda rs: "second.example" in body_of(rs[1]))


def c_chunk_ext(port):
    data = req(method="POST", headers=["Transfer-Encoding: chunked"],
               body=b"5;name=value\r\nhello\r\n0;last\r\n\r\n")
    return served(port, data + req(host="second.example"), methods=["POST", "GET"],
                  check=lambda rs: "second.example" in body_of(rs[1]))


def c_chunk_size_invalid(port):
    return rejected(port, req(method="POST", headers=["Transfer-Encoding: chunked"], body=b"zz\r\nhello\r\n0\r\n\r\n"))


def c_chunk_size_overflow(port):
    return rejected(port, req(method="POST", headers=["Transfer-Encoding: chunked"],
                              body=b"1ffffffffffffffff0000000001\r\nhello\r\n0\r\n\r\n"), statuses=(400, 413))


def c_chunk_data_too_long(port):
    return rejected(port, req(method="POST", headers=["Transfer-Encoding: chunked"], body=b"5\r\nhelloXX\r\n0\r\n\r\n"))


def c_body_too_large(port):
    # More than both servers take (svckit's route: 4 MiB, nginx: client_max_body_size 1m): refused with
    # 413 and closed, without waiting for a body that is never sent.
    c = Client(port)
    try:
        c.send(req(method="POST", headers=["Content-Length: 100000000"]) + b"x" * 1000)
        rs = c.responses(["POST"])
        closed = c.closed(3.0)
        # Closing is the server's choice (§15.5.14: it MAY); announcing it is enough (nginx lingers,
        # reading and discarding what follows, as 9112 §9.6 advises before a full close).
        announced = bool(rs) and "close" in rs[0].conn_tokens()
        ok = len(rs) == 1 and rs[0].status == 413 and (closed or announced)
        return ok, summary(rs, None, closed) + (", close sent" if announced else "")
    finally:
        c.close()


def c_bare_lf(port):
    # A recipient MAY take a lone LF as a line end: refusing and accepting both conform, as long as the
    # second request is then read from where the first one ended.
    data = b"GET /rfc HTTP/1.1\nHost: a.example\n\n" + req(host="second.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    ok = (len(rs) == 1 and rs[0].status == 400 and closed) or (
        len(rs) == 2 and "a.example" in body_of(rs[0]) and "second.example" in body_of(rs[1]))
    return ok and not c.buf, summary(rs, c, closed)


def c_higher_minor(port):
    rs, closed, c = exchange(port, req(version="HTTP/1.2") + req(host="second.example"), ["GET", "GET"])
    ok = len(rs) == 2 and all(r.status == 200 and r.version == "HTTP/1.1" for r in rs) and not closed
    return ok, summary(rs, c, closed)


def c_trailers(port):
    data = req(method="POST", headers=["Transfer-Encoding: chunked"],
               body=b"5\r\nhello\r\n0\r\nX-Checksum: 5\r\nX-Other: t\r\n\r\n")
    return served(port, data + req(host="second.example"), methods=["POST", "GET"],
                  check=lambda rs: "second.example" in body_of(rs[1]))


def c_persistent_default(port):
    c = Client(port)
    try:
        c.send(req())
        rs = c.responses(["GET"])
        c.send(req(host="second.example"))  # after the first answer: the same connection serves it
        rs += c.responses(["GET"])
        closed = c.closed(0.3)
        ok = len(rs) == 2 and all(r.status == 200 for r in rs) and not closed and "close" not in rs[0].conn_tokens()
        return ok, summary(rs, c, closed)
    finally:
        c.close()


def c_http10_closes(port):
    rs, closed, c = exchange(port, req(version="HTTP/1.0") + req(version="HTTP/1.0"), ["GET", "GET"], wait_close=3.0)
    ok = len(rs) == 1 and rs[0].status == 200 and closed and not c.buf and rs[0].version.startswith("HTTP/1.")
    return ok, summary(rs, c, closed)


def c_http10_keepalive(port):
    one = req(version="HTTP/1.0", headers=["Connection: keep-alive"])
    rs, closed, c = exchange(port, one + one, ["GET", "GET"])
    ok = len(rs) == 2 and all(r.status == 200 for r in rs) and "keep-alive" in rs[0].conn_tokens() and not closed
    return ok, summary(rs, c, closed)


def c_close_request(port):
    data = req(headers=["Connection: close"]) + req(host="after.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    ok = len(rs) == 1 and rs[0].status == 200 and closed and not c.buf
    return ok, summary(rs, c, closed) + (", close sent" if rs and "close" in rs[0].conn_tokens() else "")


def c_close_case_and_list(port):
    data = req(headers=["Connection: keep-alive, CLOSE"]) + req(host="after.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    return len(rs) == 1 and rs[0].status == 200 and closed and not c.buf, summary(rs, c, closed)


def c_server_close_then_closes(port):
    # A response announcing "close" (here to HTTP/1.0 + a request that asked for it) is the last one.
    data = req(version="HTTP/1.0", headers=["Connection: close"]) + req(version="HTTP/1.0", headers=["Connection: keep-alive"])
    rs, closed, c = exchange(port, data, ["GET", "GET"], wait_close=3.0)
    return len(rs) == 1 and closed and not c.buf, summary(rs, c, closed)


def c_pipelining_order(port):
    data = req(host="first.example") + req(target="/hello") + req(method="HEAD", host="third.example") + \
        req(host="fourth.example")
    rs, closed, c = exchange(port, data, ["GET", "GET", "HEAD", "GET"])
    ok = (len(rs) == 4 and "first.example" in body_of(rs[0]) and "Hello" in body_of(rs[1]) and rs[2].body == b""
          and "fourth.example" in body_of(rs[3]) and not c.buf)
    return ok, summary(rs, c, closed)


def c_head(port):
    data = req(method="HEAD", target="/hello") + req(target="/hello")
    rs, closed, c = exchange(port, data, ["HEAD", "GET"])
    ok = (len(rs) == 2 and rs[0].status == 200 and rs[1].status == 200 and rs[0].body == b""
          and rs[0].h1("Content-Length") == rs[1].h1("Content-Length")
          and rs[0].h1("Content-Type") == rs[1].h1("Content-Type") and not c.buf)
    return ok, summary(rs, c, closed)


def c_304(port):
    data = req(target="/cache", headers=["If-None-Match: *"]) + req(host="second.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"])
    ok = len(rs) == 2 and rs[0].status == 304 and rs[1].status == 200 and "second.example" in body_of(rs[1]) \
        and not c.buf
    return ok, summary(rs, c, closed)


def c_204(port):
    data = req(target="/nocontent") + req(host="second.example")
    rs, closed, c = exchange(port, data, ["GET", "GET"])
    ok = len(rs) == 2 and rs[0].status == 204 and rs[0].h1("Content-Length") is None \
        and rs[0].h1("Transfer-Encoding") is None and "second.example" in body_of(rs[1]) and not c.buf
    return ok, summary(rs, c, closed)


def c_expect_continue(port):
    c = Client(port)
    try:
        c.send(req(method="POST", headers=["Content-Length: 5", "Expect: 100-continue"]))
        first = c.read_response("POST", timeout=1.5)  # must come without the body: 100 or a final status
        if first is None:
            return False, "nothing before the body"
        seen = [first.status]
        if first.status == 100:
            c.send(b"hello")
            r = c.read_response("POST")
            seen.append(r.status if r else "none")
            ok = r is not None and r.status == 200
        else:
            ok = first.status >= 200
        return ok and not c.buf, " ".join(map(str, seen))
    finally:
        c.close()


def c_expect_too_large(port):
    c = Client(port)
    try:
        c.send(req(method="POST", headers=["Content-Length: 100000000", "Expect: 100-continue"]))
        first = c.read_response("POST", timeout=1.5)
        ok = first is not None and first.status == 413
        return ok, str(first.status) if first else "nothing"
    finally:
        c.close()


def c_expect_http10(port):
    c = Client(port)
    try:
        c.send(req(method="POST", version="HTTP/1.0", headers=["Content-Length: 5", "Expect: 100-continue"]))
        early = c.read_response("POST", timeout=0.5)
        if early is not None:  # a final status without the body is allowed; a 100 is not
            return early.status >= 200, "%d before the body" % early.status
        c.send(b"hello")
        r = c.read_response("POST")
        return r is not None and r.status == 200, "no 100, " + (str(r.status) if r else "none")
    finally:
        c.close()


def c_te_trailers(port):
    return served(port, req(headers=["TE: trailers", "Connection: TE"]),
                  check=lambda rs: rs[0].h1("Transfer-Encoding") in (None, "chunked"))


def c_version_2(port):
    return rejected(port, req(version="HTTP/2.0"), statuses=(505,))


def c_version_3(port):
    return rejected(port, req(version="HTTP/3.0"), statuses=(505,))


def c_long_target(port):
    return rejected(port, req(target="/" + "u" * 10000), statuses=(414,))


def c_date(port):
    # 2xx, 4xx (404 and a 400 refusal) each carry Date.
    rs, _, _ = exchange(port, req() + req(target="/no/such/path"), ["GET", "GET"])
    bad, _, _ = exchange(port, req(host=None), ["GET"])
    rs += bad
    ok = len(rs) == 3 and all(r.h1("Date") for r in rs) and [r.status for r in rs] == [200, 404, 400]
    return ok, " ".join("%d%s" % (r.status, "+Date" if r.h1("Date") else "") for r in rs)


CASES = [
    ("rfc9112_2.2_leading_crlf_before_request_line_ignored", "9112 §2.2", c_leading_crlf),
    ("rfc9112_2.2_bare_cr_rejected_or_read_as_sp", "9112 §2.2", c_bare_cr),
    ("rfc9112_2.2_whitespace_before_first_field_rejected_or_line_ignored", "9112 §2.2", c_space_before_first_field),
    ("rfc9112_2.3_version_is_case_sensitive_400", "9112 §2.3", c_version_case),
    ("rfc9112_3.2_whitespace_in_target_is_400", "9112 §3.2", c_space_in_target),
    ("rfc9110_9.1_method_is_case_sensitive", "9110 §9.1", c_method_case),
    ("rfc9112_3.2_host_missing_in_http11_is_400", "9112 §3.2", c_host_missing),
    ("rfc9110_7.2_multiple_host_is_400", "9110 §7.2, 9112 §3.2", c_host_repeated),
    ("rfc9112_3.2_multiple_host_in_http10_is_400", "9112 §3.2", c_host_repeated_http10),
    ("rfc9112_3.2_invalid_host_value_is_400", "9112 §3.2", c_host_invalid),
    ("rfc9112_3.2_host_optional_in_http10", "9112 §3.2", c_host_optional_http10),
    ("rfc9110_5.1_field_names_case_insensitive", "9110 §5.1", c_field_name_case),
    ("rfc9112_3.2.2_absolute_form_host_replaced_by_authority", "9112 §3.2.2", c_absolute_form),
    ("rfc9112_3.2.2_absolute_form_still_needs_host_in_http11", "9112 §3.2", c_absolute_form_no_host),
    ("rfc9112_3.2.3_connect_authority_form_not_a_proxy_501", "9112 §3.2.3, 9110 §9.3.6", c_connect),
    ("rfc9112_3.2.3_authority_form_only_for_connect_400", "9112 §3.2.3", c_authority_form_not_connect),
    ("rfc9112_3.2.4_options_asterisk_answered", "9112 §3.2.4, 9110 §9.3.7", c_options_asterisk),
    ("rfc9112_3.2.4_asterisk_only_for_options_400", "9112 §3.2.4", c_asterisk_not_options),
    ("rfc9112_5.1_whitespace_before_colon_is_400", "9112 §5.1", c_space_before_colon),
    ("rfc9112_5.2_obs_fold_rejected_or_replaced", "9112 §5.2", c_obs_fold),
    ("rfc9110_5.5_nul_in_field_value_rejected_or_replaced", "9110 §5.5", c_nul_in_value),
    ("rfc9110_5.6.2_invalid_field_name_rejected_or_ignored", "9110 §5.6.2", c_bad_field_name),
    ("rfc9112_6.1_te_and_cl_is_rejected_or_cl_ignored_then_closed", "9112 §6.1, §6.3", c_te_and_cl),
    ("rfc9112_6.1_te_in_http10_is_faulty_framing_closed", "9112 §6.1", c_te_in_http10),
    ("rfc9112_6.1_unknown_transfer_coding_is_501", "9112 §6.1", c_unknown_coding),
    ("rfc9112_6.3_chunked_not_final_is_rejected", "9112 §6.3", c_chunked_not_final),
    ("rfc9112_6.3_invalid_content_length_is_400", "9112 §6.3", c_cl_invalid),
    ("rfc9112_6.3_negative_content_length_is_400", "9112 §6.3", c_cl_negative),
    ("rfc9112_6.3_conflicting_content_lengths_is_400", "9112 §6.3", c_cl_conflicting),
    ("rfc9112_6.3_no_length_means_empty_body", "9112 §6.3", c_no_length_no_body),
    ("rfc9112_6.3_content_length_body_read_exactly", "9112 §6.3", c_cl_body),
    ("rfc9112_7.1_chunked_body_decoded", "9112 §7.1", c_chunked),
    ("rfc9112_7.1.1_chunk_extensions_ignored", "9112 §7.1.1", c_chunk_ext),
    ("rfc9112_7.1_invalid_chunk_size_is_400", "9112 §7.1", c_chunk_size_invalid),
    ("rfc9112_7.1_chunk_size_overflow_is_rejected", "9112 §7.1", c_chunk_size_overflow),
    ("rfc9112_7.1_chunk_data_longer_than_size_is_400", "9112 §7.1", c_chunk_data_too_long),
    ("rfc9112_7.1.2_trailers_accepted", "9112 §7.1.2", c_trailers),
    ("rfc9110_15.5.14_content_too_large_is_413", "9110 §15.5.14", c_body_too_large),
    ("rfc9112_2.2_bare_lf_line_end_refused_or_accepted", "9112 §2.2", c_bare_lf),
    ("rfc9110_2.5_higher_minor_version_served_as_1_1", "9110 §2.5, §6.2", c_higher_minor),
    ("rfc9112_9.3_http11_persistent_by_default", "9112 §9.3", c_persistent_default),
    ("rfc9112_9.3_http10_without_keepalive_closes", "9112 §9.3", c_http10_closes),
    ("rfc9112_9.3_http10_keepalive_persists", "9112 §9.3", c_http10_keepalive),
    ("rfc9112_9.6_connection_close_request_is_last", "9112 §9.6", c_close_request),
    ("rfc9112_9.6_close_option_case_insensitive_in_list", "9112 §9.6, 9110 §7.6.1", c_close_case_and_list),
    ("rfc9112_9.6_http10_close_is_last", "9112 §9.6", c_server_close_then_closes),
    ("rfc9112_9.3.2_pipelined_requests_answered_in_order", "9112 §9.3.2", c_pipelining_order),
    ("rfc9110_9.3.2_head_has_no_body_but_same_headers", "9110 §9.3.2, 9112 §6.3", c_head),
    ("rfc9110_15.4.5_304_has_no_body", "9110 §15.4.5, 9112 §6.3", c_304),
    ("rfc9110_15.3.5_204_has_no_body_nor_content_length", "9110 §15.3.5, §8.6", c_204),
    ("rfc9110_10.1.1_expect_100_continue", "9110 §10.1.1", c_expect_continue),
    ("rfc9110_10.1.1_expect_with_too_large_body_final_status", "9110 §10.1.1", c_expect_too_large),
    ("rfc9110_10.1.1_expect_in_http10_ignored", "9110 §10.1.1", c_expect_http10),
    ("rfc9110_10.1.4_te_trailers_accepted", "9110 §10.1.4", c_te_trailers),
    ("rfc9110_15.6.6_http_2_0_request_line_is_505", "9110 §15.6.6", c_version_2),
    ("rfc9110_15.6.6_http_3_0_request_line_is_505", "9110 §15.6.6", c_version_3),
    ("rfc9112_3_request_line_too_long_is_414", "9112 §3, 9110 §15.5.15", c_long_target),
    ("rfc9110_6.6.1_date_in_2xx_and_4xx", "9110 §6.6.1", c_date),
]

# What kind of statement each case checks: MUST (the default), SHOULD, MAY, or "rule" (a grammar or a
# definition the RFC states without a requirement keyword, such as "the method is case-sensitive").
LEVEL = {
    "rfc9112_2.2_leading_crlf_before_request_line_ignored": "SHOULD",
    "rfc9112_2.3_version_is_case_sensitive_400": "rule",
    "rfc9112_3.2_whitespace_in_target_is_400": "SHOULD",
    "rfc9110_9.1_method_is_case_sensitive": "rule",
    "rfc9112_3.2_host_optional_in_http10": "rule",
    "rfc9110_5.1_field_names_case_insensitive": "rule",
    "rfc9112_3.2.3_connect_authority_form_not_a_proxy_501": "SHOULD",
    "rfc9112_3.2.3_authority_form_only_for_connect_400": "rule",
    "rfc9112_3.2.4_options_asterisk_answered": "rule",
    "rfc9112_3.2.4_asterisk_only_for_options_400": "rule",
    "rfc9110_5.6.2_invalid_field_name_rejected_or_ignored": "rule",
    "rfc9112_6.1_unknown_transfer_coding_is_501": "SHOULD",
    "rfc9112_7.1_invalid_chunk_size_is_400": "rule",
    "rfc9112_7.1_chunk_data_longer_than_size_is_400": "rule",
    "rfc9110_15.5.14_content_too_large_is_413": "rule",
    "rfc9112_2.2_bare_lf_line_end_refused_or_accepted": "MAY",
    "rfc9110_2.5_higher_minor_version_served_as_1_1": "SHOULD",
    "rfc9112_9.3_http11_persistent_by_default": "rule",
    "rfc9112_9.3_http10_without_keepalive_closes": "rule",
    "rfc9112_9.3_http10_keepalive_persists": "rule",
    "rfc9110_10.1.4_te_trailers_accepted": "rule",
    "rfc9110_15.6.6_http_2_0_request_line_is_505": "rule",
    "rfc9110_15.6.6_http_3_0_request_line_is_505": "rule",
    "rfc9112_3_request_line_too_long_is_414": "rule",
}

# Which answer is right where the servers differ (docs/reliability.md explains each at length).
VERDICT = {
    "rfc9112_3.2.3_connect_authority_form_not_a_proxy_501":
        "svckit: CONNECT is a valid request the server does not implement (501), not a malformed one (400)",
    "rfc9112_3.2.4_options_asterisk_answered":
        "svckit: `OPTIONS *` is a defined request (9110 §9.3.7); nginx calls it malformed",
    "rfc9112_6.3_chunked_not_final_is_rejected":
        "svckit: §6.3 says 400 and close; nginx answers 501 (it does close)",
}


def run_case(fn, port):
    try:
        return fn(port)
    except Malformed as e:
        return False, "malformed: %s" % e
    except OSError as e:
        return False, "socket: %s" % e


def main(argv):
    servers, gate, markdown = [], None, False
    it = iter(argv)
    for a in it:
        if a == "--gate":
            gate = next(it)
        elif a == "--markdown":
            markdown = True
        else:
            name, port = a.split("=")
            servers.append((name, int(port)))
    results = []
    for name, section, fn in CASES:
        row = [(sname, *run_case(fn, port)) for sname, port in servers]
        results.append((name, section, row))
    failed = {s: 0 for s, _ in servers}
    for _, _, row in results:
        for s, ok, _ in row:
            failed[s] += not ok
    if markdown:
        print("| case | RFC section | level | " + " | ".join(s for s, _ in servers) + " | verdict |")
        print("|---|---|---|" + "---|" * len(servers) + "---|")
        for name, section, row in results:
            cells = ["%s: %s" % ("pass" if ok else "**fail**", obs) for _, ok, obs in row]
            if all(ok for _, ok, _ in row):
                verdict = "all conform" if len({obs for _, _, obs in row}) == 1 else "all conform, answers differ"
            else:
                verdict = VERDICT.get(name, "differs: not yet judged")
            print("| `%s` | %s | %s | %s | %s |" % (name, section, LEVEL.get(name, "MUST"), " | ".join(cells), verdict))
    else:
        w = max(len(n) for n, _, _ in results)
        for name, section, row in results:
            cells = "  ".join("%s:%s %-22s" % (s, "ok  " if ok else "FAIL", obs) for s, ok, obs in row)
            print("%-*s  %s" % (w, name, cells))
    for s, _ in servers:
        print("%s: %d passed, %d failed" % (s, len(CASES) - failed[s], failed[s]))
    if gate:
        print("%d passed, %d failed" % (len(CASES) - failed[gate], failed[gate]))
        return 1 if failed[gate] else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
