#!/usr/bin/env bash
# Retrain the shipped classifiers from the annotation files, one command per model, in dependency order.
#   bash scripts/retrain_classifiers.sh [annotation files...]   (default: annotations/pass1.jsonl annotations/adjudicated.jsonl)
# Needs the [finetune] extra (bash scripts/setup.sh finetune). On 2 shared CPU cores the 2-epoch fine-tune
# took about an hour for 4,400 passages (grouped CV + final fit); 5 epochs take about 2.5 times that. Set EPOCHS and
# TRAIN_LAYERS to change the fine-tune (recorded in its meta.json). Each step prints its grouped-CV figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
ANN=("$@")
[ ${#ANN[@]} -gt 0 ] || ANN=(annotations/pass1.jsonl annotations/adjudicated.jsonl)
CLI=.venv/bin/cocreation
# 1. Accurate tier: fine-tuned MiniLM, grouped CV, ONNX (int8 where the folds allow).
$CLI train "${ANN[@]}" --method finetune --epochs "${EPOCHS:-5}" --train-layers "${TRAIN_LAYERS:-2}" -o models/finetuned
# 2. Fast default: static embeddings + TF-IDF + rules (nested grouped CV, oof.npz for cascades and audits).
$CLI train "${ANN[@]}" --method linear --embedder static -o models/default
# 3. The same, distilled from the fine-tuned model's soft labels; it replaces the default only if its
#    grouped-CV macro-F1 is higher on the same folds (both figures are in its model card).
$CLI train "${ANN[@]}" --method distil --teacher models/finetuned --baseline models/default -o models/default-distilled
.venv/bin/python - <<'PY'
import json, shutil
from pathlib import Path
m = json.loads(Path("models/default-distilled/meta.json").read_text())["metrics"]
with_, without = m["cross_validated"]["macro_f1"], m["without_distillation"]["macro_f1"]
print(f"distillation: macro-F1 {without:.3f} -> {with_:.3f}")
if with_ > without:
    shutil.rmtree("models/default")
    Path("models/default-distilled").rename("models/default")
    print("models/default is now the distilled model")
else:
    shutil.rmtree("models/default-distilled")
    print("distillation does not help on the folds: models/default stays the plain model")
PY
# 4. The transformer-embedding configurations on the same folds: the ONNX one (a cascade candidate) and
#    the plain torch one (the baseline of benchmarks/perf.py's default_vs_transformer).
$CLI train "${ANN[@]}" --method linear --embedder minilm-onnx-int8 -o models/minilm-onnx
$CLI train "${ANN[@]}" --method linear --embedder minilm --no-tfidf -o models/minilm
# 5. Cascade default -> the fine-tuned model, else the ONNX configuration, band chosen on both models' out-of-fold predictions;
#    nothing is written when neither pays on the folds, and a cascade left from older models is removed
#    (it would combine models it was never validated on).
rm -rf models/cascade.new
if $CLI cascade models/default models/finetuned -o models/cascade.new --band auto \
  || $CLI cascade models/default models/minilm-onnx -o models/cascade.new --band auto; then
  rm -rf models/cascade && mv models/cascade.new models/cascade
else
  rm -rf models/cascade models/cascade.new
  echo "no cascade pays on the folds: models/cascade removed"
fi
# 6. Per-language models (fr, de, es, it, nl) where they beat the rules on grouped folds.
$CLI train "${ANN[@]}" --method per-language -o models/by-language
# 7. The one-run comparison table (configurations x macro-F1 x passages/s), into benchmarks/results/.
.venv/bin/python benchmarks/classifier_comparison.py "${ANN[@]}" --configs "" \
  --finetuned models/finetuned --primary-model models/default
# 8. The label-audit queue (passage text: written outside the repository).
.venv/bin/python scripts/audit_queue.py "${ANN[@]}" --model models/finetuned --model models/default \
  --controls 20 -o "${AUDIT_QUEUE:-../audit-queue.jsonl}"
