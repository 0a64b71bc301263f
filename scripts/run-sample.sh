#!/usr/bin/env bash
# Install into .venv/ and run the main job on the sample corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/cocreation score corpora/sample -o results/
.venv/bin/cocreation report results/ -o results/report.html
