#!/usr/bin/env bash
# Every test: set up (Python extras with the local model, Debian's Chromium for the browser tests and a C++
# compiler for llama.cpp), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v g++ >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing a C++ compiler to build llama-cpp-python (the local extra)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi
bash scripts/setup.sh test local
exec .venv/bin/python -m pytest "$@"
