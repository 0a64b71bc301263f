#!/usr/bin/env bash
# Create .venv/ at the repository root and install the toolkit into it.
#   scripts/setup.sh          runtime install (parse, score, classify) with the extras: the transformer
#                             embedders, the annotation web app's server, and Dask for cluster runs
#   scripts/setup.sh test     + test tools, and Debian's chromium for the browser tests
#   scripts/setup.sh finetune + torch, transformers and onnx, to fine-tune the accurate tier
# All modes install Debian's Tesseract language data (tesseract-ocr, English, French, German, Spanish,
# Italian, Dutch) for OCR of scanned PDF pages.
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
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
OCR_LANGS="eng fra deu spa ita nld"
have_ocr_data() {
  for lang in $OCR_LANGS; do
    ls /usr/share/tesseract-ocr/*/tessdata/"$lang".traineddata >/dev/null 2>&1 || return 1
  done
}
if ! have_ocr_data; then
  # OCR of scanned PDF pages reads Tesseract's language data from Debian's packages
  # (the tesserocr wheel brings the engine itself).
  if command -v apt-get >/dev/null 2>&1; then
    pkgs="tesseract-ocr"
    for lang in $OCR_LANGS; do pkgs="$pkgs tesseract-ocr-$lang"; done
    $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
  elif [ "${1:-run}" = "test" ]; then
    echo "Tesseract language data is needed for the OCR tests: install tesseract-ocr with the eng, fra, deu," \
      "spa, ita and nld languages (or set TESSDATA_PREFIX to a tessdata folder holding them)" >&2
    exit 1
  else
    echo "Warning: no Tesseract language data found; scanned PDF pages will be skipped with a warning." \
      "Install tesseract-ocr with the eng, fra, deu, spa, ita and nld languages to read them." >&2
  fi
fi
if [ "${1:-run}" = "test" ] && ! command -v chromium >/dev/null 2>&1; then
  # The browser tests drive Debian's chromium (never a browser download).
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is needed for the browser tests: install your distribution's chromium package" >&2
    exit 1
  fi
fi
