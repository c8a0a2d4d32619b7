#!/usr/bin/env bash
# The benchmark: set up .venv with the bench extra, then run it. Arguments pass through:
#   bash bench/run.sh            # the full run (~15 min, and ~10 min for section 7, the page), writes bench/results.md
#   bash bench/run.sh --only 7 --page-full  # section 7's whole matrix (~4 h)
#   bash bench/run.sh --quick    # ~2-3 min, writes bench/results-quick.md
#   bash bench/run.sh --smoke    # tiny sizes, only checks that it runs
#   bash bench/run.sh --only 1,3 # some sections
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bench
exec .venv/bin/python -m bench "$@"
