#!/usr/bin/env bash
# otlp_validate.sh (copied from the workplace tools): check OTLP/HTTP payloads against the OpenTelemetry protobuf schema, with Google's
# protobuf runtime (a third-party decoder, not ours).
#
# usage: otlp-validate.sh traces|logs|metrics json|pb FILE
#   exit 0 and "VALID: ..." when FILE decodes as the export request of that signal with no unknown
#   field, wrong type, bad id length or bad timestamp; exit 1 and "INVALID: ..." otherwise.
#
# The .proto files come from the npm package @opentelemetry/otlp-grpc-exporter-base@0.38.0 (the last
# release that ships them; OTLP ~0.19: scope_spans / scope_logs / scope_metrics; Span.flags is newer and
# tolerated). Needs: npm, protoc (protobuf-compiler), Debian's python3-protobuf; installs what is missing.
# Cache: $OTLP_VALIDATE_CACHE (default /tmp/otlp-validate-cache).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 traces|logs|metrics json|pb FILE" >&2; exit 2; }
signal=$1 mode=$2 file=$3
case $signal in traces|logs|metrics) ;; *) echo "unknown signal: $signal" >&2; exit 2 ;; esac
case $mode in json|pb) ;; *) echo "unknown mode: $mode" >&2; exit 2 ;; esac
C=${OTLP_VALIDATE_CACHE:-/tmp/otlp-validate-cache}
PY=/usr/bin/python3
if [ ! -f "$C/gen/.ready" ]; then
  need=()
  command -v protoc >/dev/null || need+=(protobuf-compiler)
  $PY -c 'import google.protobuf' 2>/dev/null || need+=(python3-protobuf)
  command -v npm >/dev/null || need+=(npm)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >/dev/null
  fi
  mkdir -p "$C/gen" && cd "$C"
  [ -f package.json ] || npm init -y >/dev/null 2>&1
  npm install --no-audit --no-fund --loglevel=error @opentelemetry/otlp-grpc-exporter-base@0.38.0 >/dev/null
  P=$C/node_modules/@opentelemetry/otlp-grpc-exporter-base/build/protos
  protoc -I"$P" --python_out="$C/gen" $(cd "$P" && find opentelemetry -name '*.proto')
  touch "$C/gen/.ready"
  cd - >/dev/null
fi
exec $PY - "$signal" "$mode" "$file" "$C/gen" <<'PYV'
import sys, json, base64
signal, mode, path, gen = sys.argv[1:5]
sys.path.insert(0, gen)
from google.protobuf import json_format
if signal == 'traces':
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as m; req = m.ExportTraceServiceRequest()
elif signal == 'logs':
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as m; req = m.ExportLogsServiceRequest()
else:
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as m; req = m.ExportMetricsServiceRequest()
def bad(msg): print("INVALID: " + " ".join(str(msg).split())[:400]); sys.exit(1)
IDS = ('traceId', 'spanId', 'parentSpanId')
def hex_to_b64(o):
    # OTLP/JSON writes trace and span ids as hex, not proto3-JSON base64
    if isinstance(o, dict):
        for k, v in list(o.items()):
            if k in IDS and isinstance(v, str):
                if v == '': continue
                try: o[k] = base64.b64encode(bytes.fromhex(v)).decode()
                except ValueError: bad(f"{k}={v!r} is not hex")
            elif k == 'flags' and 'traceId' in o and 'name' in o:
                del o[k]   # Span.flags / Link.flags: newer than the bundled schema
            else: hex_to_b64(v)
    elif isinstance(o, list):
        for x in o: hex_to_b64(x)
data = open(path, 'rb').read()
try:
    if mode == 'json':
        doc = json.loads(data); hex_to_b64(doc)
        json_format.ParseDict(doc, req, ignore_unknown_fields=False)
    else:
        req.ParseFromString(data)
        def unk(x):
            if len(x.UnknownFields()): bad(f"unknown fields in {x.DESCRIPTOR.full_name}")
            for f, v in x.ListFields():
                if f.message_type is None: continue
                for y in (v if f.label == f.LABEL_REPEATED else [v]):
                    if hasattr(y, 'ListFields'): unk(y)
        unk(req)
except SystemExit: raise
except Exception as e: bad(f"{type(e).__name__}: {e}")
def check(c, msg):
    if not c: bad(msg)
n = 0
if signal == 'traces':
    for rs in req.resource_spans:
        for ss in rs.scope_spans:
            for sp in ss.spans:
                n += 1
                check(len(sp.trace_id) == 16 and any(sp.trace_id), f"span {sp.name!r}: trace_id must be 16 non-zero bytes")
                check(len(sp.span_id) == 8 and any(sp.span_id), f"span {sp.name!r}: span_id must be 8 non-zero bytes")
                check(len(sp.parent_span_id) in (0, 8), f"span {sp.name!r}: bad parent_span_id")
                check(sp.name, "empty span name")
                check(sp.end_time_unix_nano >= sp.start_time_unix_nano > 0, f"span {sp.name!r}: bad timestamps")
elif signal == 'logs':
    for rl in req.resource_logs:
        for sl in rl.scope_logs:
            for r in sl.log_records:
                n += 1
                check(r.time_unix_nano > 0 or r.observed_time_unix_nano > 0, "log record without time")
                check(len(r.trace_id) in (0, 16) and len(r.span_id) in (0, 8), "bad trace/span id length on log record")
else:
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for mt in sm.metrics:
                n += 1
                check(mt.name, "metric without name")
                check(mt.WhichOneof('data') is not None, f"metric {mt.name!r} has no data")
check(n > 0, f"no {signal} in payload")
print(f"VALID: {n} {signal} item(s)")
PYV
