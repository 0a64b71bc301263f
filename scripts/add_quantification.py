"""Add quantification parameters to a model trained before they existed, without retraining it.

Usage:
    .venv/bin/python scripts/add_quantification.py models/default annotations/pass1.jsonl annotations/adjudicated.jsonl
    .venv/bin/python scripts/add_quantification.py models/finetuned --stored-oof --resolved /tmp/resolved.json

By default the model's grouped out-of-fold predictions are recomputed with the
nested, document-grouped cross-validation that trained it
(``train.cross_validate`` with the model's own ``train_config``; linear models
only), on the same annotations. ``--stored-oof`` takes them from the folder's
``oof.npz`` instead (any kind that stores one: linear, distilled, fine-tuned,
whose logits are calibrated per fold, cross-fitted, as when it was trained).

Either way the script refuses to go on unless the training-data fingerprint
equals the one in meta.json and the out-of-fold decisions reproduce the
recorded cross-validated confusion counts, so the parameters describe exactly
the model that ships. Only ``meta.json["quantification"]`` (and, for a folder
written before they existed, ``meta.json["oof"]`` and the passages' languages
in ``oof.npz``) and the model card change; the head, the thresholds and the
model id do not.

``--resolved FILE`` reads the labelled passages from a JSON dump
(``passage_ids``, ``doc_ids``, ``texts``, ``languages``, ``y``) instead of
resolving annotations with today's parser: for a model trained on passages
that a later segmentation no longer produces. Make the dump with the release
the model was trained with, e.g.::

    git archive <commit> cocreation_nlp annotations corpora | tar -x -C /tmp/old
    cd /tmp/old && python -c "import json; from cocreation_nlp.annotations import *; \\
      d = resolve_records(load_records(['annotations/pass1.jsonl', 'annotations/adjudicated.jsonl']), \\
      default_corpus()); json.dump(dict(passage_ids=d.passage_ids, doc_ids=d.doc_ids, texts=d.texts, \\
      languages=d.languages, y=d.y.tolist()), open('/tmp/resolved.json', 'w'))"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cocreation_nlp.annotations import LabelledSet, default_corpus, load_records, resolve_records  # noqa: E402
from cocreation_nlp.atomic import write_text_atomic  # noqa: E402
from cocreation_nlp.classify import RuleClassifier  # noqa: E402
from cocreation_nlp.model import featurize, read_meta  # noqa: E402
from cocreation_nlp.modelcard import render_model_card  # noqa: E402
from cocreation_nlp.oof import OOF_ARRAYS, oof_predictions, oof_record, read_oof_arrays, rows_of  # noqa: E402
from cocreation_nlp.quantify import model_quantification  # noqa: E402
from cocreation_nlp.train import TrainConfig, cross_validate, label_metrics  # noqa: E402
from cocreation_nlp.util import file_sha256  # noqa: E402

STORED_SOURCE = {
    "finetuned": "out-of-fold logits of grouped CV, each fold's Platt scaling and thresholds cross-fitted on the "
    "other folds' out-of-fold logits (never on its own passages)",
    "single": "outer-fold calibrated probabilities of nested grouped CV, each row with the thresholds of its fold "
    "(tuned on that fold's inner folds)",
}


def load_data(args: argparse.Namespace) -> LabelledSet:
    if args.resolved:
        d = json.loads(Path(args.resolved).read_text(encoding="utf-8"))
        return LabelledSet(d["passage_ids"], d["doc_ids"], d["texts"], d["languages"], np.asarray(d["y"]))
    return resolve_records(load_records(args.annotations), default_corpus())


def recomputed(meta: dict, data: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
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
    probs, _, thresholds = cross_validate(X, data.y, np.asarray(data.doc_ids), cfg, data.texts)
    return probs, thresholds


def stored(model: Path, data: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    oof = oof_predictions(model)
    rows = rows_of(oof, data.passage_ids)
    if (rows < 0).any() or len(oof["passage_ids"]) != len(data):
        sys.exit(f"{model}/{OOF_ARRAYS} holds other passages than the training data")
    if not (oof["y"][rows] == data.y).all():
        sys.exit(f"{model}/{OOF_ARRAYS} holds other labels than the training data")
    return oof["probs"][rows], oof["thresholds"][rows]


def add_languages(model: Path, meta: dict, data: LabelledSet) -> None:
    """Store the passages' languages in oof.npz (folders written before they were stored)."""
    file = model / OOF_ARRAYS
    arr = read_oof_arrays(file)
    if "languages" in arr:
        return
    by_id = dict(zip(data.passage_ids, data.languages, strict=True))
    arr["languages"] = np.asarray([by_id[p] for p in arr["passage_ids"].tolist()], dtype=str)
    np.savez_compressed(file, **arr)
    if "oof.npz" in meta.get("files", {}):
        meta["files"]["oof.npz"] = file_sha256(file)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("annotations", nargs="*")
    ap.add_argument("--stored-oof", action="store_true", help="use the folder's oof.npz (no recomputation)")
    ap.add_argument("--resolved", type=Path, help="labelled passages as a JSON dump (see the docstring)")
    args = ap.parse_intermixed_args()
    if not args.annotations and not args.resolved:
        ap.error("give annotation files or --resolved")
    meta = read_meta(args.model)
    data = load_data(args)
    if data.fingerprint() != meta["training"]["sha256"]:
        sys.exit(
            f"training data differ from the model's ({data.fingerprint()} != {meta['training']['sha256']})"
        )
    if args.stored_oof:
        add_languages(args.model, meta, data)
        probs, thresholds = stored(args.model, data)
    else:
        probs, thresholds = recomputed(meta, data)
    cv = label_metrics(data.y, probs >= thresholds, probs)
    recorded = meta["metrics"]["cross_validated"]
    for label, row in recorded["labels"].items():
        for key in ("tp", "fp", "fn", "tn"):
            if cv["labels"][label][key] != row[key]:
                sys.exit(f"out-of-fold predictions differ from the model's ({label} {key})")
    if abs(cv["macro_f1"] - recorded["macro_f1"]) > 1e-12:
        sys.exit("out-of-fold macro-F1 differs from the model's")
    meta["quantification"] = model_quantification(
        data.y,
        probs,
        thresholds,
        np.asarray(data.doc_ids),
        data.languages,
        meta["languages"],
        RuleClassifier().predict_texts(data.texts, data.languages).probs,
    )
    if args.stored_oof and (meta.get("oof") or {}).get("format") != 2:
        folds = read_oof_arrays(args.model / OOF_ARRAYS)["folds"]
        meta["oof"] = oof_record(
            source=STORED_SOURCE.get(meta.get("kind", "single"), STORED_SOURCE["single"]),
            doc_ids=data.doc_ids,
            folds=folds,
        )
    write_text_atomic(args.model / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(args.model / "README.md", render_model_card(meta))
    print(
        f"{args.model}: out-of-fold predictions reproduced (macro-F1 {cv['macro_f1']:.4f}); quantification added"
    )


if __name__ == "__main__":
    main()
