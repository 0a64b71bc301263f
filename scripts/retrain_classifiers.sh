#!/usr/bin/env bash
# Retrain the shipped classifiers from the annotation files, one command per model, in dependency order.
#   bash scripts/retrain_classifiers.sh [annotation files...]   (default: annotations/pass1.jsonl annotations/adjudicated.jsonl)
# Needs the [finetune] extra (bash scripts/setup.sh finetune). On 2 CPU cores the fine-tune step takes
# about an hour or more per 4,400 passages (grouped CV + final fit); the others take minutes.
# Each step prints its grouped-CV figures; the model cards record them.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
ANN=("$@")
[ ${#ANN[@]} -gt 0 ] || ANN=(annotations/pass1.jsonl annotations/adjudicated.jsonl)
CLI=.venv/bin/cocreation
# 1. Accurate tier: fine-tuned MiniLM, grouped CV, ONNX (int8 where the folds allow).
$CLI train "${ANN[@]}" --method finetune --epochs "${EPOCHS:-2}" --train-layers "${TRAIN_LAYERS:-2}" -o models/finetuned
# 2. Fast default: static embeddings + TF-IDF + rules, distilled from the fine-tuned model's soft labels.
$CLI train "${ANN[@]}" --method distil --teacher models/finetuned -o models/default
# 3. Cascade default -> fine-tuned, band chosen on both models' out-of-fold predictions.
$CLI cascade models/default models/finetuned -o models/cascade --band auto
# 4. Per-language models (fr, de, es, it, nl) where they beat the rules on grouped folds.
$CLI train "${ANN[@]}" --method per-language -o models/by-language
# 5. The one-run comparison table (configurations x macro-F1 x passages/s).
.venv/bin/python benchmarks/classifier_comparison.py "${ANN[@]}" --configs static+tfidf \
  --finetuned models/finetuned --distilled models/default
