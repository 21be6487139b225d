"""Writes users to user-svc from several threads until the service stops answering, appending every
acknowledged write (201) to OUT as one JSON line; then verify mode checks each is there.
usage: write_load.py write URL OUT [THREADS]
       write_load.py verify URL OUT"""
import http.client, json, os, sys, threading, time, urllib.parse

mode, url, out = sys.argv[1:4]
u = urllib.parse.urlparse(url)

if mode == "write":
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    lock = threading.Lock()
    f = open(out, "a", buffering=1)
    stamp = int(time.time() * 1000)

    def writer(i):
        n = 0
        c = None
        failures = 0
        while failures < 50:
            try:
                if c is None:
                    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
                email = f"w{stamp}.{i}.{n}@example.com"
                c.request("POST", "/v1/users", body=json.dumps({"email": email, "name": f"W{i}"}),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                body = r.read()
                if r.status == 201:
                    with lock:
                        f.write(json.dumps({"id": json.loads(body)["id"], "email": email}) + "\n")
                n += 1
            except (OSError, http.client.HTTPException):
                c = None
                failures += 1
                time.sleep(0.02)
    ts = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
else:
    acked = [json.loads(l) for l in open(out) if l.strip()]
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    missing = []
    for a in acked:
        c.request("GET", f"/v1/users/{a['id']}")
        r = c.getresponse()
        body = r.read()
        if r.status != 200 or json.loads(body)["email"] != a["email"]:
            missing.append((a, r.status))
    print(f"acknowledged {len(acked)}, present {len(acked) - len(missing)}, missing {len(missing)}")
    if missing or not acked:
        print("lost acknowledged writes:", missing[:5])
        sys.exit(1)
