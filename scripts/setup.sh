#!/usr/bin/env bash
# Creates .venv (Python 3.10+) and installs llmstream-nb with the extras named as arguments.
# Idempotent: re-running only installs what changed. Used by main.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "llmstream-nb needs Python 3.10 or newer")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
extras="$(IFS=,; echo "$*")"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
