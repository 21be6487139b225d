#!/usr/bin/python3
"""deploy/alloy/config.alloy's log pipeline, run here without Alloy (no Alloy or Promtail binary is
to be had offline on this machine):

* a parser for the part of Alloy's configuration syntax the file uses (blocks, attributes, strings,
  lists, maps, comments) reads the file itself, so the stages tested are the ones deployed;
* discovery.relabel's rules (keep, replace with separator, regex and replacement) run on a sample pod;
* loki.process's stages run, in the file's order, on CRI-framed lines in svckit's JSON format
  (docs/logging.md; escaping as pkg/svckit/log/encoder.cpp writes it): stage.cri (Alloy's CRI
  regular expression, partial lines joined), stage.json (its expressions evaluated as JMESPath with
  python3-jmespath), stage.timestamp (RFC3339Nano), stage.labels, stage.structured_metadata,
  stage.label_keep;
* Grafana's derived field for trace_id (deploy/grafana/provisioning/datasources.yaml) on each line.

What this does not exercise: Alloy's own implementation of these stages, its file tailing and
positions, the Kubernetes API discovery, pushing to Loki. Lines come from the format, not from a
running service (make test builds none here).
usage: alloy_test.py SOURCE_DIR [CONFIG]   (CONFIG: another config.alloy, for the refused examples)"""
import datetime
import json
import re
import sys

import jmespath
import yaml


# ---------------------------------------------------------------- Alloy syntax (the subset used)
TOKEN = re.compile(r'''\s*(?:(//[^\n]*)|("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)|([A-Za-z_][\w.]*)|(.))''', re.S)


def tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        comment, string, raw, number, ident, punct = m.groups()
        if comment:
            continue
        if string:
            out.append(("str", json.loads(string)))
        elif raw:
            out.append(("str", raw[1:-1]))
        elif number:
            out.append(("num", float(number)))
        elif ident:
            out.append(("id", ident))
        elif punct and not punct.isspace():
            out.append(("p", punct))
    return out


class Parser:
    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else (None, None)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise SyntaxError(f"expected {value or kind}, got {tok}")
        self.i += 1
        return tok[1]

    def body(self, end=None):
        """A list of (name, label, body) blocks and (name, value) attributes."""
        items = []
        while self.peek()[0] is not None and self.peek() != ("p", end):
            name = self.take("id")
            if self.peek() == ("p", "="):
                self.take()
                items.append(("attr", name, self.expr()))
            else:
                label = self.take("str") if self.peek()[0] == "str" else None
                self.take("p", "{")
                items.append(("block", name, label, self.body("}")))
                self.take("p", "}")
        return items

    def expr(self):
        left = self.term()
        while self.peek() == ("p", "+"):
            self.take()
            right = self.term()
            left = ("concat", left, right)
        return left

    def term(self):
        kind, v = self.peek()
        if kind in ("str", "num"):
            self.take()
            return v
        if kind == "id" and v in ("true", "false"):
            self.take()
            return v == "true"
        if kind == "id":   # a reference (discovery.relabel.svckit.output) or a call (sys.env("X"))
            self.take()
            if self.peek() == ("p", "("):
                self.take()
                args = [] if self.peek() == ("p", ")") else [self.expr()]
                while self.peek() == ("p", ","):
                    self.take()
                    args.append(self.expr())
                self.take("p", ")")
                return ("call", v, args)
            return ("ref", v)
        if (kind, v) == ("p", "["):
            self.take()
            out = []
            while self.peek() != ("p", "]"):
                out.append(self.expr())
                if self.peek() == ("p", ","):
                    self.take()
            self.take()
            return out
        if (kind, v) == ("p", "{"):
            self.take()
            out = {}
            while self.peek() != ("p", "}"):
                k = self.take()
                self.take("p", "=")
                out[k] = self.expr()
                if self.peek() == ("p", ","):
                    self.take()
            self.take()
            return out
        raise SyntaxError(f"unexpected {self.peek()}")


def blocks(body, name):
    return [b for b in body if b[0] == "block" and b[1] == name]


def attrs(body):
    return {b[1]: b[2] for b in body if b[0] == "attr"}


# ---------------------------------------------------------------- relabelling (Prometheus semantics)
def relabel(target, rules):
    t = dict(target)
    for r in rules:
        a = attrs(r[3])
        value = a.get("separator", ";").join(t.get(s, "") for s in a.get("source_labels", []))
        regex = re.compile("^(?:" + a.get("regex", "(.*)") + ")$")
        action = a.get("action", "replace")
        m = regex.match(value)
        if action == "keep":
            if not m:
                return None
        elif action == "drop":
            if m:
                return None
        elif action == "replace":
            if m:
                t[a["target_label"]] = m.expand(a.get("replacement", "$1").replace("$", "\\"))
        else:
            raise ValueError(f"relabel action {action} not emulated")
    return t


# ---------------------------------------------------------------- loki.process
CRI = re.compile(r"(?s)^(?P<time>\S+?) (?P<stream>stdout|stderr) (?P<flags>\S+?) (?P<content>.*)$")


def process(stages, raw_lines, labels):
    """Runs the stages on CRI lines; returns [(labels, structured_metadata, timestamp, line)]."""
    out, partial = [], ""
    for raw in raw_lines:
        entry = {"labels": dict(labels), "meta": {}, "extracted": {}, "line": raw, "ts": None}
        for stage in stages:
            name, a = stage[1], attrs(stage[3])
            if name == "stage.cri":
                m = CRI.match(entry["line"])
                if not m:
                    raise AssertionError(f"not a CRI line: {raw!r}")
                if m["flags"] == "P":        # partial: wait for the rest (Alloy joins them)
                    partial += m["content"]
                    entry = None
                    break
                entry["line"], partial = partial + m["content"], ""
                entry["labels"]["stream"] = m["stream"]
            elif name == "stage.json":
                try:
                    doc = json.loads(entry["line"])
                except ValueError:
                    continue                     # not JSON: passes unparsed
                for key, expression in a["expressions"].items():
                    v = jmespath.search(expression or key, doc)
                    if v is not None:
                        entry["extracted"][key] = v if isinstance(v, str) else json.dumps(v)
            elif name == "stage.timestamp":
                assert a["format"] == "RFC3339Nano"
                v = entry["extracted"].get(a["source"])
                if v:
                    entry["ts"] = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            elif name == "stage.labels":
                for k, src in a["values"].items():
                    if (src or k) in entry["extracted"]:
                        entry["labels"][k] = entry["extracted"][src or k]
            elif name == "stage.structured_metadata":
                for k, src in a["values"].items():
                    if (src or k) in entry["extracted"]:
                        entry["meta"][k] = entry["extracted"][src or k]
            elif name == "stage.label_keep":
                entry["labels"] = {k: v for k, v in entry["labels"].items() if k in a["values"]}
            else:
                raise AssertionError(f"stage {name} is not emulated: extend alloy_test.py")
        if entry is not None:
            out.append(entry)
    return out


# ---------------------------------------------------------------- svckit's lines
TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def svckit_line(level, msg, caller, fields=(), ctx=True):
    """One line as svckit's encoder writes it: ts, level, msg, caller, context fields, fields."""
    parts = [f'"ts":"2026-11-26T18:04:05.123456Z"', f'"level":"{level}"', f'"msg":{json.dumps(msg)}']
    if caller:
        parts.append(f'"caller":"{caller}"')
    if ctx:
        parts += [f'"request_id":"r-7f3a"', f'"trace_id":"{TRACE}"', f'"span_id":"{SPAN}"']
    parts += [f'"{k}":{v}' for k, v in fields]
    return "{" + ",".join(parts) + "}"


def cri(content, flag="F", stream="stdout"):
    return f"2026-11-26T18:04:05.987654321Z {stream} {flag} {content}"


def main(src, config):
    text = open(config).read()
    body = Parser(tokens(text)).body()
    relabels = blocks(body, "discovery.relabel")
    procs = blocks(body, "loki.process")
    assert len(relabels) == 1 and len(procs) == 1, "one discovery.relabel and one loki.process expected"
    stages = [b for b in procs[0][3] if b[0] == "block"]

    # The pod target, as discovery.kubernetes gives it.
    pod = {"__meta_kubernetes_pod_label_app_kubernetes_io_part_of": "svckit",
           "__meta_kubernetes_pod_label_app_kubernetes_io_name": "license-svc",
           "__meta_kubernetes_pod_uid": "5d1c-77", "__meta_kubernetes_pod_container_name": "license-svc",
           "__meta_kubernetes_namespace": "svckit-prod", "__meta_kubernetes_pod_name": "license-svc-6d9f-x2"}
    rules = blocks(relabels[0][3], "rule")
    t = relabel(pod, rules)
    assert t and t["service"] == "license-svc", t
    assert t["__path__"] == "/var/log/pods/*5d1c-77/license-svc/*.log", t["__path__"]
    other = dict(pod, __meta_kubernetes_pod_label_app_kubernetes_io_part_of="kube-system")
    assert relabel(other, rules) is None, "a pod outside svckit is not shipped"
    labels = {k: v for k, v in t.items() if not k.startswith("__")}
    labels["filename"] = "/var/log/pods/svckit-prod_license-svc-6d9f-x2_5d1c-77/license-svc/0.log"

    lines = []
    for level in ("trace", "debug", "info", "warn", "error", "fatal"):
        lines.append(svckit_line(level, f"a {level} line", "internal/license/service.cpp:88", [("licence_id", '"L-1"')]))
    multi = svckit_line("error", "cannot issue licence", "internal/license/service.cpp:140",
                        [("error", json.dumps({"code": "UNAVAILABLE", "reason": "DB_DOWN",
                                               "message": "connection refused\nIs the server running on host \"pg\"?\n\tat connect",
                                               "metadata": {}}))])
    quotes = svckit_line("warn", 'holder said "hi" \\ left', "", [("name", json.dumps('Ann "Nan" O\'Brien\x01'))], ctx=True)
    access = svckit_line("info", "http request", "", [("method", '"POST"'), ("route", '"/v1/licenses"'), ("status", "201"),
                                                     ("duration", "0.0042"), ("user_id", '"u-42"')])
    started = svckit_line("info", "service started", "pkg/svckit/app/app.cpp:285",
                          [("service", '"license-svc"'), ("env", '"prod"')], ctx=False)
    long_line = svckit_line("info", "x" * 20000, "", ctx=True)
    raws = [cri(x) for x in lines + [multi, quotes, access, started]]
    raws += [cri(long_line[:16384], "P"), cri(long_line[16384:], "F")]
    raws.append(cri("terminate called after throwing an instance of 'std::bad_alloc'", stream="stderr"))
    for x in lines + [multi, quotes, access, started, long_line]:
        assert "\n" not in x and json.loads(x)          # one well-formed JSON object per line

    entries = process(stages, raws, labels)
    assert len(entries) == len(raws) - 1, f"{len(entries)} entries for {len(raws)} CRI lines (one pair partial)"
    levels = [e["labels"].get("level") for e in entries]
    assert levels[:6] == ["trace", "debug", "info", "warn", "error", "fatal"], levels
    assert levels[6:11] == ["error", "warn", "info", "info", "info"], levels

    derived = yaml.safe_load(open(f"{src}/deploy/grafana/provisioning/datasources.yaml"))
    loki = next(d for d in derived["datasources"] if d["type"] == "loki")
    field = next(f for f in loki["jsonData"]["derivedFields"] if f["name"] == "TraceID")
    link = re.compile(field["matcherRegex"])
    assert field["datasourceUid"] == next(d["uid"] for d in derived["datasources"] if d["type"] == "tempo")

    for e in entries[:-1]:
        doc = json.loads(e["line"])                      # the line is the service's JSON, unchanged
        assert set(e["labels"]) <= {"service", "level"}, f"labels beyond service and level: {e['labels']}"
        assert e["labels"]["service"] == "license-svc" and e["labels"]["level"] == doc["level"]
        assert e["ts"] == datetime.datetime(2026, 11, 26, 18, 4, 5, 123456, tzinfo=datetime.timezone.utc)
        if "trace_id" in doc:
            assert e["meta"] == {"trace_id": TRACE, "span_id": SPAN}, e["meta"]
            m = link.search(e["line"])
            assert m and m.group(1) == TRACE, "Grafana's trace link does not find the trace id"
        else:
            assert e["meta"] == {} and not link.search(e["line"])
    assert "\n" in json.loads(entries[6]["line"])["error"]["message"], "the multi-line error survives"
    assert json.loads(entries[7]["line"])["name"] == 'Ann "Nan" O\'Brien\x01'
    assert len(json.loads(entries[10]["line"])["msg"]) == 20000, "partial lines are joined"
    crash = entries[-1]
    assert crash["labels"] == {"service": "license-svc"} and crash["meta"] == {}, crash
    print(f"alloy: {len(entries)} lines through {len(stages)} stages: labels service+level only, "
          f"trace_id/span_id as metadata, Grafana's trace link found")
    return 0


if __name__ == "__main__":
    src = sys.argv[1]
    try:
        sys.exit(main(src, sys.argv[2] if len(sys.argv) > 2 else f"{src}/deploy/alloy/config.alloy"))
    except AssertionError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
