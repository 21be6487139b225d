"""Slow and hostile HTTP clients (docs/reliability.md), one kind per mode; each prints one line of figures
(key=value) and exits 0; the calling script judges them against the server's settings.
usage: hostile.py probe HOST:PORT PATH OUT SECONDS      a normal client: one keep-alive GET every 5 ms,
                                                          "start_s latency_ms status" per line to OUT
       hostile.py p99 OUT FROM TO                        p99 and errors of OUT's samples started in [FROM, TO)
       hostile.py slowloris HOST:PORT PATH N STEP LIMIT  N heads trickled one header line per STEP s
       hostile.py slowbody HOST:PORT PATH N STEP LIMIT   N bodies (Content-Length 1 MB) trickled 16 B per STEP s
       hostile.py slowread HOST:PORT PATH N PIPELINED LIMIT  N clients pipeline requests and never read
       hostile.py idle HOST:PORT N HOLD                  N idle connections held HOLD s
       hostile.py flood HOST:PORT SECONDS                connect and close as fast as possible
Times are time.time() seconds, so that the script and the probe share a clock."""
import asyncio, socket, statistics, sys, time


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def probe(addr, path, out, seconds):
    host, port = hostport(addr)
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    end = time.time() + seconds
    sock = None
    with open(out, "w", buffering=1) as f:
        while time.time() < end:
            t0 = time.time()
            status = 0
            try:
                if sock is None:
                    sock = socket.create_connection((host, port), timeout=2)
                sock.sendall(req)
                buf = b""
                while b"\r\n\r\n" not in buf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise OSError("closed")
                    buf += chunk
                head, _, body = buf.partition(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                while len(body) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise OSError("closed")
                    body += chunk
                if b"connection: close" in head.lower():
                    sock.close()
                    sock = None
            except OSError:
                if sock is not None:
                    sock.close()
                sock = None
            f.write(f"{t0:.6f} {(time.time() - t0) * 1000:.3f} {status}\n")
            time.sleep(0.005)


def p99(out, t_from, t_to):
    lat, errors = [], 0
    for line in open(out):
        t, ms, st = line.split()
        if t_from <= float(t) < t_to:
            lat.append(float(ms))
            errors += st != "200"
    lat.sort()
    if not lat:
        print("samples=0 p50_ms=nan p99_ms=nan errors=0")
        return
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"samples={len(lat)} p50_ms={q(0.5):.2f} p99_ms={q(0.99):.2f} max_ms={lat[-1]:.2f} errors={errors}")


async def read_until_closed(reader, limit):
    """Reads until the server closes the connection: (seconds from now, bytes read) or (None, bytes)."""
    t0 = time.time()
    got = b""
    try:
        while time.time() - t0 < limit:
            chunk = await asyncio.wait_for(reader.read(65536), limit - (time.time() - t0))
            if not chunk:
                return time.time() - t0, got
            got += chunk
    except (asyncio.TimeoutError, TimeoutError):
        return None, got
    except OSError:
        return time.time() - t0, got
    return None, got


def status_of(data):
    try:
        return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    except (IndexError, ValueError):
        return 0


def summary(name, results, n):
    closed = [r[0] for r in results if r[0] is not None]
    statuses = {}
    for _, st in results:
        statuses[st] = statuses.get(st, 0) + 1
    st = " ".join(f"status_{k}={v}" for k, v in sorted(statuses.items()))
    if closed:
        print(f"{name}: conns={n} closed_by_server={len(closed)} closed_after_median_s={statistics.median(closed):.2f} "
              f"closed_after_max_s={max(closed):.2f} {st}")
    else:
        print(f"{name}: conns={n} closed_by_server=0 {st}")


async def trickle(addr, parts, step, limit):
    """Sends parts[0] at once, then one part every `step` s while reading; returns (closed_after, status)."""
    host, port = hostport(addr)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(parts[0])

    async def feed():
        for p in parts[1:]:
            await asyncio.sleep(step)
            writer.write(p)
            await writer.drain()

    feeder = asyncio.ensure_future(feed())
    closed, got = await read_until_closed(reader, limit)
    feeder.cancel()
    try:
        await feeder
    except (asyncio.CancelledError, OSError, ConnectionError):
        pass
    writer.close()
    return closed, status_of(got)


async def slowloris(addr, path, n, step, limit):
    host, _ = hostport(addr)
    parts = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\n".encode()] + [f"X-Slow-{i}: x\r\n".encode() for i in range(100000)]
    results = await asyncio.gather(*(trickle(addr, parts, step, limit) for _ in range(n)))
    summary("slowloris", results, n)


async def slowbody(addr, path, n, step, limit):
    host, _ = hostport(addr)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
    parts = [head.encode()] + [b"x" * 16] * 62500
    results = await asyncio.gather(*(trickle(addr, parts, step, limit) for _ in range(n)))
    summary("slowbody", results, n)


def slowread_one(addr, path, pipelined):
    host, port = hostport(addr)
    s = socket.socket()
    # A small receive window: the server's writes block as soon as its own send buffer is full.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    s.setblocking(False)
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    data = req * pipelined
    sent = 0
    blocked_since = None
    while sent < len(data):
        try:
            sent += s.send(data[sent:])
            blocked_since = None
        except BlockingIOError:
            # The server stopped reading: it is blocked writing answers to us. Stop sending soon after.
            blocked_since = blocked_since or time.time()
            if time.time() - blocked_since > 0.2:
                break
            time.sleep(0.01)
        except OSError:
            break
    return s, sent // len(req)


async def slowread(addr, path, n, pipelined, limit):
    socks = [slowread_one(addr, path, pipelined) for _ in range(n)]
    t0 = time.time()
    # Never reading, watch each connection's TCP state: the server closing it (FIN or reset) takes it
    # out of ESTABLISHED. Reading would unblock the server, so nothing is read.
    closed_at = {}
    while len(closed_at) < n and time.time() - t0 < limit:
        for i, (s, _) in enumerate(socks):
            if i not in closed_at and s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != 1:
                closed_at[i] = time.time() - t0
        await asyncio.sleep(0.05)
    for s, _ in socks:
        s.close()
    sent = sorted(x for _, x in socks)
    times = sorted(closed_at.values())
    mx = f"{times[-1]:.2f}" if times else "nan"
    print(f"slowread: conns={n} pipelined_sent_median={sent[n // 2]} dropped_by_server={len(closed_at)} "
          f"dropped_after_max_s={mx}")


async def idle(addr, n, hold):
    host, port = hostport(addr)
    sem = asyncio.Semaphore(256)
    conns = []
    opened_at = {}

    async def open_one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                conns.append((r, w))
                opened_at[id(r)] = time.time()
            except (OSError, asyncio.TimeoutError, TimeoutError):
                conns.append(None)

    t0 = time.time()
    await asyncio.gather(*(open_one() for _ in range(n)))
    opened = time.time() - t0
    failed = sum(c is None for c in conns)
    live = [c for c in conns if c is not None]
    print(f"idle-open: conns={n} connect_failed={failed} opened_in_s={opened:.2f}", flush=True)
    # A refused connection gets the server's 503 at once and is closed.
    refused = refused_retry_after = 0
    other = {}
    await asyncio.sleep(0.5)
    still = []

    async def first_bytes(r):
        try:
            return await asyncio.wait_for(r.read(4096), 0.3)
        except (asyncio.TimeoutError, TimeoutError):
            return None
        except OSError:
            return b""

    firsts = await asyncio.gather(*(first_bytes(r) for r, _ in live))
    for (r, w), data in zip(live, firsts):
        if data is None:
            still.append((r, w))
            continue
        if status_of(data) == 503:
            refused += 1
            refused_retry_after += b"retry-after:" in data.lower()
        else:
            other[data[:12]] = other.get(data[:12], 0) + 1
        w.close()
    print(f"idle-held: held={len(still)} refused_503={refused} refused_with_retry_after={refused_retry_after} "
          f"closed_otherwise={sum(other.values())}", flush=True)
    if other:
        print(f"idle-closed-otherwise: {other}", file=sys.stderr)
    # Held until the server closes them (its idle timeout) or HOLD s pass.
    closed_after = []

    async def wait_close(r):
        t, _ = await read_until_closed(r, hold)
        if t is not None:
            closed_after.append(time.time() - opened_at[id(r)])

    await asyncio.gather(*(wait_close(r) for r, _ in still))
    for _, w in still:
        w.close()
    med = statistics.median(closed_after) if closed_after else float("nan")
    mx = max(closed_after) if closed_after else float("nan")
    mn = min(closed_after) if closed_after else float("nan")
    print(f"idle-closed: closed_by_server={len(closed_after)} of={len(still)} closed_after_median_s={med:.2f} "
          f"closed_after_min_s={mn:.2f} closed_after_max_s={mx:.2f} (from each one's connect)")


def flood(addr, seconds):
    host, port = hostport(addr)
    end = time.time() + seconds
    n = errors = 0
    while time.time() < end:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST: no TIME_WAIT
        try:
            s.connect((host, port))
            n += 1
        except OSError:
            errors += 1
        s.close()
    print(f"flood: connects={n} per_s={n / seconds:.0f} connect_errors={errors}")


def main():
    mode, a = sys.argv[1], sys.argv[2:]
    if mode == "probe":
        probe(a[0], a[1], a[2], float(a[3]))
    elif mode == "p99":
        p99(a[0], float(a[1]), float(a[2]))
    elif mode == "slowloris":
        asyncio.run(slowloris(a[0], a[1], int(a[2]), float(a[3]), float(a[4])))
    elif mode == "slowbody":
        asyncio.run(slowbody(a[0], a[1], int(a[2]), float(a[3]), float(a[4])))
    elif mode == "slowread":
        asyncio.run(slowread(a[0], a[1], int(a[2]), int(a[3]), float(a[4])))
    elif mode == "idle":
        asyncio.run(idle(a[0], int(a[1]), float(a[2])))
    elif mode == "flood":
        flood(a[0], float(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
