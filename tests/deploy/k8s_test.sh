#!/usr/bin/env bash
# deploy/k8s offline: every overlay and deploy/k8s/monitoring render with kubectl kustomize; every object
# validates against the Kubernetes API schemas (k8s_validate.js); the policy (policy.py) passes on
# each rendering and on what git tracks; and each refused example is refused, for the reason it was made.
# usage: k8s_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
here="$src/tests/deploy"
PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/k8s_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# kubectl with kustomize v5 (components, replacements, --load-restrictor): the machine image's
# kubectl. Debian's kubernetes-client (kubectl 1.20, kustomize v2) cannot render these overlays.
command -v kubectl >/dev/null || fail "kubectl is not installed (kubectl >= 1.27 with kustomize v5 is needed)"
kv=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
[ "${kv:-0}" -ge 5 ] || fail "kubectl's kustomize is v${kv:-?}; v5 is needed"
npm_dir=$(bash "$here/npm_tools.sh")
validate() { NODE_PATH="$npm_dir/node_modules" node "$here/k8s_validate.js" --crd ExternalSecret "$@"; }
render() { kubectl kustomize --load-restrictor LoadRestrictionsNone "$src/deploy/k8s/$1"; }

for t in overlays/dev overlays/staging overlays/prod monitoring; do
  out="$tmp/$(echo "$t" | tr / _).yaml"
  render "$t" >"$out" || fail "kubectl kustomize $t"
  validate "$out" || fail "schema: $t"
  $PY "$here/policy.py" "$out" || fail "policy: $t"
done

# What each overlay must hold.
$PY - "$tmp" <<'PY' || fail "overlay contents"
import sys, yaml
d = sys.argv[1]
def objs(n): return [o for o in yaml.safe_load_all(open(f"{d}/{n}.yaml")) if o]
services = {"gateway", "auth-svc", "license-svc", "user-svc", "hello", "chat-svc"}
for env in ("dev", "staging", "prod"):
    os_ = objs(f"overlays_{env}")
    kinds = lambda k: {o["metadata"]["name"] for o in os_ if o["kind"] == k}
    assert kinds("Deployment") == services, (env, kinds("Deployment"))
    assert {f"{s}-pods" for s in services} <= kinds("Service"), env
    assert kinds("HorizontalPodAutoscaler") == services - {"chat-svc"}, env
    assert kinds("Ingress") == {"gateway"}, env
    assert "default-deny" in kinds("NetworkPolicy"), env
    assert (kinds("StatefulSet") == {"postgres", "etcd"}) == (env == "dev"), (env, kinds("StatefulSet"))
    assert (len(kinds("ExternalSecret")) == 8) == (env != "dev"), env
    for o in os_:
        if o["kind"] != "Deployment":
            continue
        pod = o["spec"]["template"]["spec"]
        c = pod["containers"][0]
        assert c["image"].startswith("ghcr.io/svckit/" + o["metadata"]["name"] + ":"), c["image"]
        envs = {e["name"]: e.get("value") for e in c["env"]}
        assert envs["SVCKIT_ENV"] == env, (env, o["metadata"]["name"], envs["SVCKIT_ENV"])
        vol = next(v for v in pod["volumes"] if v["name"] == "config")
        paths = [i["path"] for s in vol["projected"]["sources"] for i in s["configMap"]["items"]]
        assert f"{env}/platform.yaml" in paths and "base.yaml" in paths, (env, paths)
        for p in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[p]["httpGet"]["port"] == "admin", (o["metadata"]["name"], p)
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz" and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["terminationGracePeriodSeconds"] >= 2 + 25, "grace < preStop + app.shutdown_timeout"
        assert c["lifecycle"]["preStop"]["sleep"]["seconds"] == 2
        # The admin port listens beyond loopback, so it must have its bearer token (App refuses to start otherwise).
        token = next(v for v in pod["volumes"] if v["name"] == "admin-token")
        assert token["secret"]["secretName"] == "svckit-admin-token", o["metadata"]["name"]
        assert any(m["name"] == "admin-token" and m["mountPath"] == "/var/run/secrets/svckit/admin" for m in c["volumeMounts"])
    platform = yaml.safe_load(next(o for o in os_ if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("svckit-env"))["data"]["platform.yaml"])
    assert platform["app"]["shutdown_timeout"] == "25s" and platform["discovery"]["backend"] == "dns", env
    assert platform["admin"]["host"] == "0.0.0.0" and platform["admin"]["token_file"] == "/var/run/secrets/svckit/admin/token", env
print("overlay contents: ok")
PY
# The ConfigMaps are the repository's files, not copies.
$PY - "$tmp" "$src" <<'PY' || fail "generated ConfigMaps differ from the files in the repository"
import sys, yaml, json
d, src = sys.argv[1], sys.argv[2]
dev = [o for o in yaml.safe_load_all(open(f"{d}/overlays_dev.yaml")) if o]
cm = next(o for o in dev if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("svckit-config"))["data"]
assert cm["base.yaml"] == open(f"{src}/configs/base.yaml").read()
assert cm["services.auth-svc.yaml"] == open(f"{src}/configs/services/auth-svc.yaml").read()
mon = [o for o in yaml.safe_load_all(open(f"{d}/monitoring.yaml")) if o]
get = lambda p: next(o for o in mon if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(p))["data"]
assert get("svckit-prometheus")["alerts.yml"] == open(f"{src}/deploy/prometheus/alerts.yml").read()
assert json.loads(get("svckit-grafana-dashboards")["svckit-overview.json"]) == json.load(open(f"{src}/deploy/grafana/svckit-overview.json"))
print("generated ConfigMaps: ok")
PY

# No Secret with data anywhere git tracks.
$PY "$here/policy.py" --git "$src" || fail "policy --git"

# The checks can fail: each refused example is refused, for its own rule.
$PY "$here/policy.py" "$here/good.yaml" >/dev/null || fail "good.yaml refused"
n=0
for bad in "$here"/bad/*.yaml; do
  rule=$(basename "$bad" .yaml); rule=${rule%-none}
  if $PY "$here/policy.py" "$bad" >"$tmp/out"; then fail "policy accepted $bad"; fi
  grep -q ": $rule: " "$tmp/out" || { cat "$tmp/out"; fail "$bad refused, but not for $rule"; }
  n=$((n + 1))
done
for bad in "$here"/bad-schema/*.yaml; do
  if validate "$bad" >"$tmp/out" 2>&1; then fail "schema accepted $bad"; fi
  grep -q INVALID "$tmp/out" || { cat "$tmp/out"; fail "$bad: no INVALID"; }
  n=$((n + 1))
done
# A Secret with data committed to git is found.
git init -q "$tmp/repo" && cp "$here/bad/secret-data.yaml" "$tmp/repo/secret.yaml"
git -C "$tmp/repo" add secret.yaml
if $PY "$here/policy.py" --git "$tmp/repo" >"$tmp/out"; then fail "policy --git accepted a committed Secret"; fi
grep -q "secret-data" "$tmp/out" || fail "policy --git: wrong reason"
# A render that breaks (a file the generator names is missing) fails the render.
mkdir -p "$tmp/broken" && printf 'configMapGenerator:\n  - name: x\n    files: [missing.yaml]\n' >"$tmp/broken/kustomization.yaml"
if kubectl kustomize "$tmp/broken" >/dev/null 2>&1; then fail "kustomize rendered a broken kustomization"; fi
echo "k8s: 4 renderings valid and within policy; $((n + 2)) refused examples refused"
