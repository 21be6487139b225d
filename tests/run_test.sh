#!/usr/bin/env bash
# make run's platform as a process manager runs it (scripts/run.sh on the test build, its own ports and
# data folder): every service comes up behind the gateway; the citizen and clerk journey goes through
# the gateway alone (tests/platform/journey_test.py), and the README's "Try it" block works as printed;
# one service killed with SIGKILL is restarted and logged while the others keep serving; Ctrl-C
# (SIGINT to the script's process group) stops every service gracefully and leaves no process behind.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
# Below the kernel's ephemeral range (32768 and up), where the other tests' port-0 listeners and
# client sockets land, and free now for all twelve ports the platform takes.
. "$src/tests/lib.sh"
base=$(free_port_block 12)
run_pid=
cleanup() {
  rc=$?
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then kill -TERM -- "-$run_pid" 2>/dev/null || true; sleep 2; fi
  for a in 1 3 5 7 9 10; do pkill -KILL -f -- "--set admin.port=$((base + a))( |$)" 2>/dev/null || true; done
  [ $rc -eq 0 ] || { echo "--- run.sh output"; cat "$tmp/out" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { curl -sf -m 1 -o /dev/null "$1"; }
wait_ok() {  # url seconds
  for _ in $(seq $(($2 * 10))); do ok "$1" && return 0; sleep 0.1; done
  echo "no answer from $1 within $2 s"; return 1
}

# Its own process group with SIGINT at its default, as a terminal's foreground job has it (a shell
# starts background jobs with SIGINT ignored), so that a SIGINT to the group is a Ctrl-C.
SVCKIT_PORT_BASE=$base SVCKIT_GRPC_PORT=$((base + 11)) SVCKIT_RUN_DATA=$tmp/data /usr/bin/python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp("bash", ["bash"] + sys.argv[1:])' "$src/scripts/run.sh" "$build" >"$tmp/out" 2>&1 &
run_pid=$!
for a in 1 3 5 7 9; do wait_ok "http://127.0.0.1:$((base + a))/readyz" 30; done
wait_ok "http://127.0.0.1:$((base + 10))/healthz" 30
curl -sf "http://127.0.0.1:$base/hello" >/dev/null
grep -q "svckit: the platform is at http://127.0.0.1:$base " "$tmp/out"

# The journey through the gateway alone, and one trace across the services it crossed.
/usr/bin/python3 "$src/tests/platform/journey_test.py" "http://127.0.0.1:$base" "$tmp/data/identity/bootstrap.json" \
  "http://127.0.0.1:$((base + 1))" "http://127.0.0.1:$((base + 7))" "http://127.0.0.1:$((base + 5))" | tee "$tmp/journey"
trace=$(sed -n 's/.*trace \([0-9a-f]\{32\}\) in.*/\1/p' "$tmp/journey")
# Its access lines: the gateway's, identity's (its route) and the user centre's (the profile it made).
for want in '"msg":"gateway request"' '"route":"/v1/auth/register"' '"route":"/v1/users"'; do
  grep -a "\"trace_id\":\"$trace\"" "$tmp/out" | grep -q -- "$want" || { echo "trace $trace: no access line with $want"; exit 1; }
done

# The README's "Try it" block, as printed (its port and data folder moved to this test's).
/usr/bin/python3 - "$src/README.md" "$base" "$tmp/data" >"$tmp/try.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
block = text.split("<!-- try-it -->", 2)[1]
code = re.search(r"```bash\n(.*?)```", block, re.S).group(1)
print(code.replace("127.0.0.1:8080", "127.0.0.1:" + sys.argv[2]).replace("data/identity/", sys.argv[3] + "/identity/"))
PY
(cd "$tmp" && bash -euo pipefail "$tmp/try.sh" >"$tmp/try.out" 2>&1) || { echo "README try-it failed:"; cat "$tmp/try.out"; exit 1; }
grep -q '"status":"valid"' "$tmp/try.out" || { echo "README try-it: no valid verification"; cat "$tmp/try.out"; exit 1; }

# SIGKILL hello: restarted (and said so); user-svc answers all along.
hello_pid=$(pgrep -f -- "cmd/hello/hello --set http.port=$((base + 2)) ")
kill -KILL "$hello_pid"
down=0
for _ in $(seq 50); do
  ok "http://127.0.0.1:$((base + 5))/healthz" || down=$((down + 1))
  ok "http://127.0.0.1:$((base + 2))/hello" && [ "$(pgrep -f -- "cmd/hello/hello --set http.port=$((base + 2)) ")" != "$hello_pid" ] && break
  sleep 0.1
done
wait_ok "http://127.0.0.1:$((base + 2))/hello" 10
wait_ok "http://127.0.0.1:$base/hello" 10  # and through the gateway again
[ "$down" -eq 0 ] || { echo "user-svc stopped answering while hello was down ($down misses)"; exit 1; }
grep -q "svckit: hello exited with status 137; restarting it in 1s" "$tmp/out" \
  || { echo "no restart line"; exit 1; }
new_pid=$(pgrep -f -- "cmd/hello/hello --set http.port=$((base + 2)) ")
[ "$new_pid" != "$hello_pid" ] || { echo "hello was not restarted"; exit 1; }

# Ctrl-C: the whole group gets SIGINT; every service stops gracefully, nothing is left.
kill -INT -- "-$run_pid"
for _ in $(seq 150); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$run_pid" 2>/dev/null; then echo "run.sh still running 15 s after SIGINT"; exit 1; fi
for a in 1 3 5 7 9 10; do
  if pgrep -f -- "--set admin.port=$((base + a)) " >/dev/null; then echo "a service outlived run.sh"; exit 1; fi
done
for name in gateway hello user-svc auth-svc license-svc chat-svc; do
  grep -q "\"msg\":\"service stopped\".*\"service\":\"$name\"" "$tmp/out" || { echo "$name did not stop gracefully"; exit 1; }
done
if grep -q "restarting it" <(grep -v "hello exited with status 137" "$tmp/out"); then
  echo "a service was restarted during the stop"; exit 1
fi
echo "run: platform up behind the gateway, journey and README try-it ok, hello restarted after SIGKILL with user-svc serving throughout, graceful stop on SIGINT"
