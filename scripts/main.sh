#!/usr/bin/env bash
# The main job: set up, then stream a verse from the built-in offline model, tokens split by "|".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/llmstream-nb run --sep "|" --stats "Write me a 1 verse song about sparkling water."
