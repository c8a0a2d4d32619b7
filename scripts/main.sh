#!/usr/bin/env bash
# The main job: set up, stream a verse in the terminal from the built-in offline model (tokens split
# by "|"), then open JupyterLab on notebooks/, where 01_quickstart.ipynb streams into live widgets.
# No key, no network. Pass --terminal-only to skip JupyterLab (e.g. on a machine with no browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lab
.venv/bin/llmstream-nb run --sep "|" --stats "Write me a 1 verse song about sparkling water."
[ "${1:-}" = "--terminal-only" ] && exit 0
lab_args=(--ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks)
[ "$(id -u)" = 0 ] && lab_args+=(--allow-root)
echo "Opening JupyterLab on notebooks/: start with 01_quickstart.ipynb (Ctrl-C here to stop)."
exec .venv/bin/jupyter lab "${lab_args[@]}" notebooks/01_quickstart.ipynb
