#!/usr/bin/env bash
# Creates .venv (Python 3.10+) and installs llmstream-nb with the extras named as arguments.
# Idempotent: re-running only installs what changed. Used by main.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "llmstream-nb needs Python 3.10 or newer")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
extras="$(IFS=,; echo "$*")"
# The `local` extra builds llama-cpp-python from source (no binary wheel on the package index). These
# flags keep the build portable (no -march=native: x86-64 AVX2 level) and quick (CPU backend only, no
# BLAS/GPU, no tools, tests, server or multimodal library). pip caches the built wheel, so only the
# first set-up on a machine pays for it. A CMAKE_ARGS of your own wins (e.g. -DGGML_NATIVE=ON).
if [[ ",$extras," == *,local,* ]]; then
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_OPENMP=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF}"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
  echo "installing the local extra: the first time, llama-cpp-python builds from source (several minutes)..."
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
