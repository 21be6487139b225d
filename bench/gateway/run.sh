#!/usr/bin/env bash
# Gateway race: svckit's gateway against nginx as a reverse proxy, both in front of the same upstream
# (nginx returning a fixed 15-byte body), in one run, rounds alternating. Each proxy: one worker
# pinned to CPU $PROXY_CPU, keep-alive to the upstream (nginx: `keepalive 64`, HTTP/1.1), access log
# off (the gateway at log.level=warn writes no access line). wrk (-t1 -c$CONNS, keep-alive) and the
# upstream share CPU $WRK_CPU. Each round also calls the upstream directly. Prints requests/s, p50 and
# p99 per run, the gateway/nginx ratios and the latency each proxy adds over the direct call.
# TLS=1 terminates TLS at both proxies' public ports (an EC P-256 certificate from
# tests/http/make_certs.sh, TLS 1.3, wrk over https with keep-alive), upstream still plain: the cost of
# TLS at the edge, side by side.
# usage: bench/gateway/run.sh [build/release]      knobs: ROUNDS (3), DURATION (10), WARMUP (2), CONNS (64), TLS (0)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
gw="$(pwd)/$build/cmd/gateway/gateway"
[ -x "$gw" ] || { echo "build $build first (cmake --preset release && cmake --build build/release --target gateway)"; exit 1; }
command -v nginx >/dev/null && command -v wrk >/dev/null || { echo "need nginx and wrk: scripts/deps.sh bench"; exit 1; }
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} WARMUP=${WARMUP:-2} CONNS=${CONNS:-64} TLS=${TLS:-0}
PROXY_CPU=${PROXY_CPU:-1} WRK_CPU=${WRK_CPU:-0}
OUT=${OUT:-/tmp/svckit-bench-gateway/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/up/logs" "$dir/px/logs"
scheme=http nginx_tls="" gw_tls=""
if [ "$TLS" = 1 ]; then
  bash tests/http/make_certs.sh "$dir/certs" >/dev/null
  scheme=https
  nginx_tls="ssl; ssl_certificate $dir/certs/server.pem; ssl_certificate_key $dir/certs/server.key; ssl_protocols TLSv1.2 TLSv1.3"
  gw_tls="--set http.tls.cert_file=$dir/certs/server.pem --set http.tls.key_file=$dir/certs/server.key"
fi

# The upstream: nginx, a fixed body.
cat > "$dir/up/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $dir/up/nginx.pid; error_log $dir/up/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:9300 reuseport; location / { default_type application/json; return 200 '{"msg":"hello"}'; } } }
NGX
taskset -c "$WRK_CPU" nginx -p "$dir/up" -c "$dir/up/nginx.conf" -e "$dir/up/logs/error.log" &
# nginx as the reverse proxy.
cat > "$dir/px/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $dir/px/nginx.pid; error_log $dir/px/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream hello { server 127.0.0.1:9300; keepalive 64; }
  server { listen 127.0.0.1:9301 reuseport $nginx_tls;
    location / { proxy_pass http://hello; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX
# The gateway: one route to the same upstream.
cat > "$dir/routes.yaml" <<YML
routes:
  - {name: hello, path: /, upstream: ['http://127.0.0.1:9300']}
YML
nginx_cmd="nginx -p $dir/px -c $dir/px/nginx.conf -e $dir/px/logs/error.log"
gw_cmd="$gw --config-dir $(pwd)/configs --set http.port=9302 --set admin.port=0 --set app.workers=1 \
  --set gateway.routes_file=$dir/routes.yaml --set log.level=warn $gw_tls"

run() {  # $1 name $2 command $3 port $4 round
  taskset -c "$PROXY_CPU" bash -c "exec $2" >"$dir/$1.out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -skf -o /dev/null "$scheme://127.0.0.1:$3/hello" && break; sleep 0.1; done
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$scheme://127.0.0.1:$3/hello" >/dev/null
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$scheme://127.0.0.1:$3/hello" >"$OUT/$1-r$4.txt"
  kill -TERM $pid; wait $pid 2>/dev/null || true
  awk -v n="$1" -v r="$4" '
    /Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
    END {printf "%s,%s,%s,%s,%s,%s\n", n, r, rps, p50, p99, bad+0}' "$OUT/$1-r$4.txt"
}

sleep 0.5
echo "proxy,round,rps,p50,p99,non2xx" | tee "$OUT/raw.csv"
# The upstream called directly (plain HTTP, no proxy): the baseline of the added-latency figures.
direct() {  # $1 round
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:9300/hello" >/dev/null
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:9300/hello" >"$OUT/direct-r$1.txt"
  awk -v r="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
    END {printf "direct,%s,%s,%s,%s,%s\n", r, rps, p50, p99, bad+0}' "$OUT/direct-r$1.txt"
}
for r in $(seq 1 "$ROUNDS"); do
  direct "$r" | tee -a "$OUT/raw.csv"
  run nginx "$nginx_cmd" 9301 "$r" | tee -a "$OUT/raw.csv"
  run gateway "$gw_cmd" 9302 "$r" | tee -a "$OUT/raw.csv"
done

# Medians per proxy (latencies normalised to microseconds) and the ratios.
awk -F, 'function us(v){ if (v ~ /us$/) return v+0; if (v ~ /ms$/) return v*1000; if (v ~ /s$/) return v*1e6; return v }
  function med(a,n,  i,j,t){ for(i=1;i<=n;i++)for(j=i+1;j<=n;j++)if(a[j]<a[i]){t=a[i];a[i]=a[j];a[j]=t} return a[int((n+1)/2)] }
  NR>1 { k=$1; n[k]++; rps[k,n[k]]=$3; p50[k,n[k]]=us($4); p99[k,n[k]]=us($5) }
  END { for (k in n) { for(i=1;i<=n[k];i++){a[i]=rps[k,i];b[i]=p50[k,i];c[i]=p99[k,i]}
          R[k]=med(a,n[k]); P[k]=med(b,n[k]); Q[k]=med(c,n[k])
          printf "%-8s median rps=%.0f p50=%.0fus p99=%.0fus\n", k, R[k], P[k], Q[k] }
        if (R["nginx"]>0) printf "gateway/nginx: rps %.2f, p50 %.2f, p99 %.2f\n", R["gateway"]/R["nginx"], P["gateway"]/P["nginx"], Q["gateway"]/Q["nginx"]
        if (R["direct"]>0) printf "added over the upstream called directly: p50 nginx %+.0fus gateway %+.0fus; p99 nginx %+.0fus gateway %+.0fus\n",
          P["nginx"]-P["direct"], P["gateway"]-P["direct"], Q["nginx"]-Q["direct"], Q["gateway"]-Q["direct"] }' \
  "$OUT/raw.csv" | tee "$OUT/summary.txt"
echo "== raw wrk output in $OUT"
