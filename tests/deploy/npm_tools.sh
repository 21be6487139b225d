#!/usr/bin/env bash
# The deployment tests' npm tools (tests/npm_tools.sh deploy): prints their folder.
exec bash "$(dirname "$0")/../npm_tools.sh" deploy
