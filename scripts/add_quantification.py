"""Add quantification parameters to a model trained before they existed, without retraining it.

Usage:
    .venv/bin/python scripts/add_quantification.py models/default annotations/pass1.jsonl annotations/adjudicated.jsonl

The model's grouped out-of-fold predictions are recomputed with the nested,
document-grouped cross-validation that trained it (``train.cross_validate``
with the model's own ``train_config``), on the same annotations: the script
refuses to go on unless the training-data fingerprint equals the one in
meta.json and the recomputed cross-validated metrics equal the recorded ones,
so the parameters describe exactly the model that ships. Only
``meta.json["quantification"]`` and the model card change; the head, the
thresholds and the model id do not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotations import default_corpus, load_records, resolve_records  # noqa: E402
from cocreation_nlp.atomic import write_text_atomic  # noqa: E402
from cocreation_nlp.classify import RuleClassifier  # noqa: E402
from cocreation_nlp.model import featurize, read_meta  # noqa: E402
from cocreation_nlp.modelcard import render_model_card  # noqa: E402
from cocreation_nlp.quantify import model_quantification  # noqa: E402
from cocreation_nlp.train import TrainConfig, cross_validate, label_metrics  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("annotations", nargs="+")
    args = ap.parse_args()
    meta = read_meta(args.model)
    data = resolve_records(load_records(args.annotations), default_corpus())
    if data.fingerprint() != meta["training"]["sha256"]:
        sys.exit(
            f"training data differ from the model's ({data.fingerprint()} != {meta['training']['sha256']})"
        )
    tc = meta["train_config"]
    cfg = TrainConfig(
        embedder=tc["embedder"],
        tfidf=tc["tfidf"],
        outer_folds=tc["outer_folds"],
        inner_folds=tc["inner_folds"],
        c_grid=tuple(tc["c_grid"]),
        class_weight=tc["class_weight"],
    )
    X = featurize(data.texts, data.languages, cfg.embedder)
    groups = np.asarray(data.doc_ids)
    probs, decisions, thresholds = cross_validate(X, data.y, groups, cfg, data.texts)
    cv = label_metrics(data.y, decisions, probs)
    recorded = meta["metrics"]["cross_validated"]
    for label, row in recorded["labels"].items():
        for key in ("tp", "fp", "fn", "tn"):
            if cv["labels"][label][key] != row[key]:
                sys.exit(f"recomputed out-of-fold predictions differ from the model's ({label} {key})")
    if abs(cv["macro_f1"] - recorded["macro_f1"]) > 1e-12:
        sys.exit("recomputed macro-F1 differs from the model's")
    meta["quantification"] = model_quantification(
        data.y,
        probs,
        thresholds,
        groups,
        data.languages,
        meta["languages"],
        RuleClassifier().predict_texts(data.texts, data.languages).probs,
    )
    write_text_atomic(args.model / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(args.model / "README.md", render_model_card(meta))
    print(
        f"{args.model}: out-of-fold predictions reproduced (macro-F1 {cv['macro_f1']:.4f}); quantification added"
    )


if __name__ == "__main__":
    main()
