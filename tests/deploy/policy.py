#!/usr/bin/python3
"""svckit's deployment policy, checked on rendered Kubernetes manifests (kubectl kustomize's output).

usage: policy.py FILE...            rendered manifests (multi-document YAML)
       policy.py --git DIR          every YAML file git tracks in DIR: no Secret with data in git

Rules (each has a bad manifest in tests/deploy/bad/ that must be refused):
  probes          every container of a workload has a readinessProbe and a livenessProbe
  limits          every container (init containers too) has resources.limits.cpu and .memory
  non-root        runAsNonRoot true (container or pod) and no runAsUser 0
  read-only-root  readOnlyRootFilesystem true on every container
  image-tag       an image names a tag (or a digest), and the tag is not `latest`
  pdb             every Deployment's pods are selected by a PodDisruptionBudget
  service         every Deployment's pods are selected by a Service
  secret-data     no Secret carries data or stringData (rendered output, and anything git tracks but
                  tests/deploy/bad/, the checker's own refused examples)
  exception       an exemption (annotation svckit.dev/policy-exceptions: "rule: reason; ...") names
                  a known rule and gives a reason
Exit 0 when everything passes, 1 with one line per finding otherwise."""
import subprocess
import sys

import yaml

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
RULES = {"probes", "limits", "non-root", "read-only-root", "image-tag", "pdb", "service", "secret-data"}
EXCEPTIONS = "svckit.dev/policy-exceptions"


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]


def name(o):
    m = o.get("metadata") or {}
    return f"{o.get('kind')}/{m.get('namespace', '')}/{m.get('name')}".replace("//", "/")


def exceptions(o, findings):
    text = ((o.get("metadata") or {}).get("annotations") or {}).get(EXCEPTIONS, "")
    out = set()
    for item in filter(None, (x.strip() for x in text.split(";"))):
        rule, _, reason = item.partition(":")
        rule = rule.strip()
        if rule not in RULES or not reason.strip():
            findings.append(f"{name(o)}: exception: '{item}' must be 'rule: reason' with a rule of {sorted(RULES)}")
        else:
            out.add(rule)
    return out


def selects(selector, labels):
    sel = selector or {}
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        return False
    if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        v, op, vals = labels.get(e["key"]), e["operator"], e.get("values") or []
        if (op == "In" and v not in vals) or (op == "NotIn" and v in vals) or \
           (op == "Exists" and v is None) or (op == "DoesNotExist" and v is not None):
            return False
    return True


def image_ok(image):
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


def check_workload(o, findings):
    skip = exceptions(o, findings)
    spec = (o.get("spec") or {}).get("template", {}).get("spec") or {}
    pod_sc = spec.get("securityContext") or {}

    def report(rule, what):
        if rule not in skip:
            findings.append(f"{name(o)}: {rule}: {what}")

    for kind, containers in (("container", spec.get("containers") or []), ("init container", spec.get("initContainers") or [])):
        for c in containers:
            cn = f"{kind} {c.get('name')}"
            sc = c.get("securityContext") or {}
            if kind == "container":
                for p in ("readinessProbe", "livenessProbe"):
                    if not c.get(p):
                        report("probes", f"{cn} has no {p}")
            limits = (c.get("resources") or {}).get("limits") or {}
            for r in ("cpu", "memory"):
                if r not in limits:
                    report("limits", f"{cn} has no {r} limit")
            non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            if non_root is not True or sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                report("non-root", f"{cn} may run as root (runAsNonRoot is not true)")
            if sc.get("readOnlyRootFilesystem") is not True:
                report("read-only-root", f"{cn} has a writable root filesystem")
            if not image_ok(str(c.get("image", ""))):
                report("image-tag", f"{cn} image '{c.get('image')}' has no pinned tag")


def check(objects, findings):
    for o in objects:
        if o.get("kind") in WORKLOADS:
            check_workload(o, findings)
        if o.get("kind") == "Secret" and (o.get("data") or o.get("stringData")):
            findings.append(f"{name(o)}: secret-data: a Secret with data in the manifests (use an ExternalSecret or create it out of band)")
    ns = lambda o: (o.get("metadata") or {}).get("namespace", "")
    for d in (o for o in objects if o.get("kind") == "Deployment"):
        skip = exceptions(d, [])
        labels = ((d["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        same = [o for o in objects if ns(o) == ns(d)]
        if "pdb" not in skip and not any(o.get("kind") == "PodDisruptionBudget" and selects(o["spec"].get("selector"), labels) for o in same):
            findings.append(f"{name(d)}: pdb: no PodDisruptionBudget selects its pods")
        if "service" not in skip and not any(o.get("kind") == "Service" and (o["spec"].get("selector") or None) is not None
                                             and selects({"matchLabels": o["spec"]["selector"]}, labels) for o in same):
            findings.append(f"{name(d)}: service: no Service selects its pods")


def git_yaml(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "-z", "*.yaml", "*.yml"], check=True,
                         capture_output=True).stdout.decode()
    return [f"{root}/{p}" for p in out.split("\0") if p]


def main(argv):
    findings = []
    if argv[:1] == ["--git"]:
        for path in git_yaml(argv[1]):
            if "/tests/deploy/bad/" in path:
                continue  # the policy's own negative cases (a Secret with data among them)
            try:
                docs = load(path)
            except yaml.YAMLError:
                continue  # not Kubernetes YAML (templates, multi-line strings): the linters' business
            for o in docs:
                if o.get("kind") == "Secret" and (o.get("data") or o.get("stringData")):
                    findings.append(f"{path}: secret-data: {name(o)} has data in git")
    else:
        objects = [o for p in argv for o in load(p)]
        if not objects:
            findings.append("no objects")
        check(objects, findings)
    for f in findings:
        print(f)
    print(f"policy: {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
