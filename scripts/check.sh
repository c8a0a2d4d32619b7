#!/usr/bin/env bash
# Guard rails, before the tests: ruff (lint and format), mypy, and eslint for the widgets' JS.
# Set-up: .venv with the test extra (ruff and mypy are in it); eslint is installed by npm from
# scripts/eslint/package-lock.json into scripts/eslint/node_modules, or skipped (with a note) without npm.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/ruff ] && [ -x .venv/bin/mypy ] || bash scripts/setup.sh test

status=0
step() {  # run one check, keep going, remember a failure
  echo "== $*"
  "$@" || status=1
}

step .venv/bin/ruff check llmstream_nb
step .venv/bin/ruff format --check .
step .venv/bin/mypy llmstream_nb

if command -v npm >/dev/null && command -v node >/dev/null; then
  if [ ! -x scripts/eslint/node_modules/.bin/eslint ]; then
    npm ci --prefix scripts/eslint --no-audit --no-fund --silent
  fi
  step scripts/eslint/node_modules/.bin/eslint -c scripts/eslint/eslint.config.mjs llmstream_nb/view/*.js
else
  echo "== eslint skipped: node and npm are not installed"
fi
exit "$status"
