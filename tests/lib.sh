# Helpers for the process-level tests. Source it: . "$src/tests/lib.sh"

# wait_service ERRFILE NAME: waits for an app's start lines on stderr ("NAME: serving URL",
# "NAME: admin URL ...") and sets svc_url (empty for a service without an HTTP traffic port) and
# admin_url.
wait_service() {
  local err=$1 name=$2
  for _ in $(seq 300); do grep -q "^$name: admin \|^$name: refusing\|^$name: cannot" "$err" 2>/dev/null && break; sleep 0.05; done
  svc_url=$(sed -n "s/^$name: serving \(http[^ ]*\)$/\1/p" "$err")
  admin_url=$(sed -n "s/^$name: admin \(http[^ ]*\).*/\1/p" "$err")
  if [ -z "$admin_url" ]; then
    echo "$name did not start:"; cat "$err"; return 1
  fi
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# free_port_block N: the first port of N consecutive ports free now, below the kernel's ephemeral range
# (32768 and up, where other tests' port-0 listeners and client sockets land); spread by this
# shell's pid so that tests running at once start their search in different places.
free_port_block() {
  /usr/bin/python3 - "$$" "$1" <<'PY'
import socket, sys
pid, n = int(sys.argv[1]), int(sys.argv[2])
for k in range(600):
    base = 20000 + ((pid + k * 7) % 600) * 20
    socks = []
    try:
        for port in range(base, base + n):
            s = socket.socket()
            s.bind(("0.0.0.0", port))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
}
