#!/usr/bin/env bash
# Create .venv/ at the repository root and install the toolkit into it.
#   scripts/setup.sh          runtime install (parse, score, classify) with the extras: the transformer
#                             embedders, the annotation web app's server, and Dask for cluster runs
#   scripts/setup.sh test     + test tools, and Debian's chromium for the browser tests
#   scripts/setup.sh finetune + torch, transformers and onnx, to fine-tune the accurate tier
# torch is pinned through constraints.txt (a CPU build here), never in the package metadata (the [finetune]
# extra names it with a lower bound only).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)-${1:-run}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  if [ "${1:-run}" = "test" ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
  elif [ "${1:-run}" = "finetune" ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[transformers,annotate,dask,finetune]"
  else
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[transformers,annotate,dask]"
  fi
  touch "$stamp"
fi
if [ "${1:-run}" = "test" ] && ! command -v chromium >/dev/null 2>&1; then
  # The browser tests drive Debian's chromium (never a browser download).
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is needed for the browser tests: install your distribution's chromium package" >&2
    exit 1
  fi
fi
