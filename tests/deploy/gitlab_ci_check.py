#!/usr/bin/python3
"""A structural check of .gitlab-ci.yml, written here: no npm package ships GitLab's CI JSON schema in a
form that runs offline on this machine's Node.js, so this checks the subset of the keyword reference
the pipeline uses. It refuses: an unknown top-level or job keyword, a job without script (or
trigger/extends), a stage not declared in `stages`, `needs` naming a job that does not exist, a
`rules` item with unknown keys, a `parallel.matrix` that is not a list of maps, a malformed timeout,
and a reference to an anchor that does not exist (a YAML error).
usage: gitlab_ci_check.py FILE"""
import re
import sys

import yaml

GLOBAL = {"stages", "default", "variables", "workflow", "include", "image", "services", "before_script",
          "after_script", "cache"}
JOB = {"stage", "script", "before_script", "after_script", "image", "services", "variables", "rules", "needs",
       "dependencies", "artifacts", "cache", "timeout", "parallel", "retry", "allow_failure", "when",
       "environment", "tags", "interruptible", "extends", "trigger", "coverage", "resource_group", "release",
       "id_tokens", "secrets", "inherit", "hooks", "pages", "manual_confirmation"}
DEFAULT = {"image", "services", "before_script", "after_script", "cache", "artifacts", "retry", "timeout",
           "interruptible", "tags", "hooks", "id_tokens"}
RULE = {"if", "when", "changes", "exists", "allow_failure", "variables", "needs", "interruptible"}
ARTIFACTS = {"paths", "exclude", "expire_in", "expose_as", "name", "public", "access", "reports", "untracked", "when"}
TIMEOUT = re.compile(r"^\d+\s*(s|m|h|d|w|sec|seconds?|min|minutes?|hours?|days?)(\s+\d+\s*(s|m|h|sec|min|minutes?|seconds?))*$")


def check(doc):
    errs = []
    if not isinstance(doc, dict):
        return ["not a mapping"]
    stages = doc.get("stages", ["build", "test", "deploy"])
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        errs.append("stages: must be a list of names")
        stages = []
    for k in set(doc.get("default") or {}) - DEFAULT:
        errs.append(f"default: unknown keyword {k}")
    jobs = {k: v for k, v in doc.items() if k not in GLOBAL and not k.startswith(".")}
    for name, job in jobs.items():
        if not isinstance(job, dict):
            errs.append(f"{name}: unknown top-level keyword (or a job that is not a mapping)")
            continue
        for k in set(job) - JOB:
            errs.append(f"{name}: unknown keyword {k}")
        if not any(k in job for k in ("script", "trigger", "extends")):
            errs.append(f"{name}: no script")
        for k in ("script", "before_script", "after_script"):
            v = job.get(k)
            if v is not None and not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, (str, list)) for x in v))):
                errs.append(f"{name}: {k} must be a string or a list of strings")
        if job.get("stage", "test") not in stages:
            errs.append(f"{name}: stage {job.get('stage', 'test')!r} is not in stages")
        for n in job.get("needs") or []:
            n = n.get("job") if isinstance(n, dict) else n
            if n not in jobs:
                errs.append(f"{name}: needs {n!r}, which is no job")
        for r in job.get("rules") or []:
            if not isinstance(r, dict) or set(r) - RULE:
                errs.append(f"{name}: rules item {r!r} has unknown keys")
        par = job.get("parallel")
        if isinstance(par, dict):
            m = par.get("matrix")
            if set(par) != {"matrix"} or not isinstance(m, list) or not all(isinstance(x, dict) for x in m):
                errs.append(f"{name}: parallel.matrix must be a list of maps")
        elif par is not None and not (isinstance(par, int) and 1 < par <= 200):
            errs.append(f"{name}: parallel must be 2..200 or a matrix")
        t = job.get("timeout")
        if t is not None and not TIMEOUT.match(str(t)):
            errs.append(f"{name}: timeout {t!r} is not a duration")
        a = job.get("artifacts")
        if a is not None and (not isinstance(a, dict) or set(a) - ARTIFACTS):
            errs.append(f"{name}: artifacts has unknown keys")
    if not jobs:
        errs.append("no jobs")
    return errs


def main(path):
    try:
        doc = yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        print(f"{path}: YAML error: {e}")
        return 1
    errs = check(doc)
    for e in errs:
        print(f"{path}: {e}")
    print(f"gitlab_ci_check: {len(errs)} finding(s)")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
