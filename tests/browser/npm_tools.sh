#!/usr/bin/env bash
# The browser tests' npm package, playwright-core (tests/npm_tools.sh browser): prints its folder.
exec bash "$(dirname "$0")/../npm_tools.sh" browser
