"""Graceful stop under load, as a client sees it: CONNS keep-alive connections send requests in a loop
while the service gets SIGTERM. A request counts as accepted once it was written whole on a connection
the server had accepted (a connection opened after SIGTERM that is reset before its first answer sat
in the listener's queue as it closed: counted and reported, not a failure); every accepted request must get a complete response (status < 500, or a 503
the service chose to send) and a connection the server ends must end between responses, never after a
request was written. Readiness (/readyz on the admin port) must turn unready before the traffic port
stops answering, and the process must exit within GRACE seconds.
usage: stop_load.py PID HOST:PORT PATH ADMIN_URL CONNS GRACE SHUTDOWN_DELAY_S [SECONDS_BEFORE_STOP]
With a shutdown delay the unready window is long enough to be seen from outside (readiness is polled
every 5 ms); without one the order is the stop sequence's and only the rest is checked.
Prints one line of figures; exits 1 when a rule is broken."""
import os, signal, socket, sys, threading, time, urllib.request

pid, target, path, admin, conns, grace = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
delay = float(sys.argv[7])
before = float(sys.argv[8]) if len(sys.argv) > 8 else 1.0
host, port = target.rsplit(":", 1)
port = int(port)
request = f"GET {path} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()
lock = threading.Lock()
stats = {"ok": 0, "lost": 0, "reset_new": 0, "closed_between": 0, "refused": 0, "bad_status": 0}
first_unready = [None]
last_served = [None]
stop_sent = [None]
done = threading.Event()


partial = threading.local()


def read_response(s, buf):
    """Reads one response; returns (status, close, rest) or None on EOF/reset before it completed."""
    partial.data = buf
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None
        partial.data = buf + chunk
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
        if k.strip().lower() == "connection" and "close" in v.lower():
            close = True
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return status, close, rest[length:]


def client():
    while not done.is_set():
        try:
            s = socket.create_connection((host, port), timeout=10)
        except OSError:
            with lock:
                stats["refused"] += 1
            if stop_sent[0] is not None:
                return  # the listener is gone: nothing more is accepted
            time.sleep(0.01)
            continue
        buf = b""
        fresh = stop_sent[0] is not None  # opened after SIGTERM: the listener may be closing under it
        answered = 0
        while not done.is_set():
            try:
                s.sendall(request)
            except OSError:
                with lock:
                    stats["closed_between"] += 1  # closed before this request was written: not accepted
                break
            how = "eof"
            try:
                r = read_response(s, buf)
            except OSError as e:
                r, how = None, type(e).__name__
            if r is None:
                with lock:
                    # A connection opened after SIGTERM and reset before its first answer was in the
                    # listener's queue as it closed: the server never accepted it (counted, reported).
                    stats["reset_new" if fresh and answered == 0 else "lost"] += 1
                    if os.environ.get("STOP_LOAD_DEBUG"): print(f"lost {target}{path} ({how}): fresh={fresh} answered={answered} partial={getattr(partial, 'data', b'')[:120]!r} at +{time.time() - (stop_sent[0] or time.time()):.4f}", file=sys.stderr)
                break
            status, close, buf = r
            answered += 1
            with lock:
                if status >= 500 and status != 503:
                    stats["bad_status"] += 1
                else:
                    stats["ok"] += 1
                last_served[0] = time.time()
            if close:
                with lock:
                    stats["closed_between"] += 1
                break
        s.close()


def readiness():
    while not done.is_set():
        try:
            urllib.request.urlopen(admin + "/readyz", timeout=1).read()
        except urllib.error.HTTPError as e:
            if e.code == 503 and first_unready[0] is None:
                first_unready[0] = time.time()
        except OSError:
            if first_unready[0] is None and stop_sent[0] is not None:
                first_unready[0] = time.time()
        time.sleep(0.005)


threads = [threading.Thread(target=client, daemon=True) for _ in range(conns)]
for t in threads:
    t.start()
rt = threading.Thread(target=readiness, daemon=True)
rt.start()
time.sleep(before)
with lock:
    served_before = stats["ok"]
stop_sent[0] = time.time()
os.kill(pid, signal.SIGTERM)
exited = None
while time.time() - stop_sent[0] < grace + 5:
    try:
        wpid, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        wpid = pid  # not our child: poll its existence
        try:
            os.kill(pid, 0)
            wpid = 0
        except ProcessLookupError:
            pass
    if wpid == pid:
        exited = time.time()
        break
    time.sleep(0.01)
done.set()
for t in threads:
    t.join(5)
rate = served_before / before
exit_s = (exited - stop_sent[0]) if exited else float("inf")
unready_s = (first_unready[0] - stop_sent[0]) if first_unready[0] else float("nan")
last_s = (last_served[0] - stop_sent[0]) if last_served[0] else float("nan")
print(f"{target}{path}: {rate:,.0f} req/s before SIGTERM on {conns} connections; after it: ok {stats['ok'] - served_before}, "
      f"lost {stats['lost']}, 5xx {stats['bad_status']}, closed between requests {stats['closed_between']}, "
      f"new connections reset before their first answer {stats['reset_new']}, "
      f"refused {stats['refused']}; unready at +{unready_s:.3f} s, last response at +{last_s:.3f} s, exit at +{exit_s:.2f} s")
broken = []
if stats["lost"]:
    broken.append(f"{stats['lost']} accepted requests got no response")
if stats["bad_status"]:
    broken.append(f"{stats['bad_status']} responses were 5xx other than 503")
if exited is None or exit_s > grace:
    broken.append(f"the process did not exit within {grace} s")
if delay > 0 and (first_unready[0] is None or (last_served[0] and first_unready[0] > last_served[0])):
    broken.append("readiness did not turn unready before the traffic stopped")
if broken:
    print("graceful stop broken: " + "; ".join(broken))
    sys.exit(1)
