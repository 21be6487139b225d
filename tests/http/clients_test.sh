#!/usr/bin/env bash
# Real HTTP clients that nobody here wrote (curl, Python's http.client, Go's net/http) against svckit.
set -euo pipefail
server=$1 src=$2 work=$3
tmp=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$server" >"$tmp/port" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(head -1 "$tmp/port")
base="http://127.0.0.1:$port"

# curl: keep-alive (one connection for two URLs), chunked upload, 100-continue, limits.
out=$(curl -sv "$base/hello" "$base/hello" 2>&1)
grep -q 'Re-using existing connection' <<<"$out" || { echo "curl: keep-alive not reused"; echo "$out"; exit 1; }
[ "$(curl -s -H 'Transfer-Encoding: chunked' --data-binary 'chunked via curl' "$base/echo")" = "chunked via curl" ]
out=$(curl -sv -H 'Expect: 100-continue' --data-binary 'after continue' "$base/echo" 2>&1)
grep -q '< HTTP/1.1 100 Continue' <<<"$out" || { echo "curl: no 100 Continue"; echo "$out"; exit 1; }
grep -q 'after continue' <<<"$out"
[ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'seventeen bytes!!' "$base/small")" = 413 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/$(head -c 9000 /dev/zero | tr '\0' u)")" = 414 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" "$base/hello")" = 431 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$base/hello")" = 405 ]
echo "curl: ok"

/usr/bin/python3 "$src/tests/http/python_client.py" "$port"

export GO111MODULE=off GOPATH="$work/gopath" GOPROXY=off GOFLAGS= GOCACHE="$work/gocache" GOTOOLCHAIN=local
go build -o "$tmp/goclient" "$src/tests/http/go/client.go"
"$tmp/goclient" "$base"

# Still serving after all of that.
[ "$(curl -s "$base/hello")" = '{"msg":"Hello svckit"}' ]
echo "http clients test: ok"
