#!/usr/bin/env bash
# The npm package the browser tests drive Chromium with, in one cache folder outside the work tree,
# installed once (scripts/deps.sh test installs it; the tests call this too, so a missing one is
# installed then). Prints the folder whose node_modules holds it.
#   playwright-core: the driver only; the browser is Debian's chromium (no browser download).
set -euo pipefail
dir=${SVCKIT_NPM_BROWSER_CACHE:-/var/cache/svckit/npm-browser}
want=(playwright-core@1.57.0)
have() {
  local p
  for p in "${want[@]}"; do
    [ "$(node -p "require('$dir/node_modules/${p%@*}/package.json').version" 2>/dev/null)" = "${p##*@}" ] || return 1
  done
}
if ! have; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"svckit-browser-tools","private":true}' >"$dir/package.json"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error --save-exact "${want[@]}" >&2)
  have || { echo "npm_tools.sh: could not install ${want[*]} into $dir" >&2; exit 1; }
fi
echo "$dir"
