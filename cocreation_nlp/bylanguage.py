"""``cocreation train --method per-language``: learned models per language, kept only where they beat the rules.

The English embedders (MiniLM and its static distillation) do not read French, German, Spanish,
Italian or Dutch; a default model trained on multilingual annotations takes such a language into
its scope only where its own folds show it beats the rules (``train.language_scope``), and the
other languages get rule-only predictions. With labelled passages in a language,
:func:`train_language_models` fits a model on that language alone (word 1-2-gram TF-IDF plus that
language's rule features, no English embedding), evaluates it with the same nested,
document-grouped cross-validation as ``cocreation train``, and keeps it only when its macro-F1
beats, by ``margin`` on the same passages, what those passages would get without it: the default
model's out-of-fold predictions where the default covers the language, else the rules alone. Every language's decision and
figures go into the router's meta.json and model card, shipped or not.

The router folder (kind ``by-language``, loaded by :mod:`cocreation_nlp.language_router`) also
carries the routed out-of-fold predictions (``oof.npz``: each passage from the model that would
score it) and the count estimators' parameters measured on them (``meta["quantification"]``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .annotations import LabelledSet
from .classify import RuleClassifier
from .codebook import LABELS
from .errors import ModelLoadError
from .language_router import KIND
from .metrics import label_metrics
from .model import META_SCHEMA_VERSION, library_versions, read_meta
from .modelcard import document_scores_section
from .oof import OOF_ARRAYS, grouped_folds, oof_predictions, oof_record, rows_of
from .quantify import model_quantification
from .train import TrainConfig, rules_baseline, save_trained, train
from .util import language_code

log = logging.getLogger(__name__)
LEARNABLE_LANGUAGES = ("fr", "de", "es", "it", "nl")
MIN_PASSAGES = 40
MIN_DOCUMENTS = 3


def _subset(data: LabelledSet, idx: list[int]) -> LabelledSet:
    return LabelledSet(
        [data.passage_ids[i] for i in idx],
        [data.doc_ids[i] for i in idx],
        [data.texts[i] for i in idx],
        [data.languages[i] for i in idx],
        data.y[idx],
        contexts=[data.contexts[i] for i in idx] if data.contexts else [],
    )


def train_language_models(
    data: LabelledSet,
    out_dir: Path,
    default_model: Path,
    cfg=None,  # noqa: ANN001 - train.TrainConfig
    *,
    languages: Sequence[str] = LEARNABLE_LANGUAGES,
    margin: float = 0.0,
    annotation_files: Sequence[str] = (),
) -> dict:
    """Train and evaluate one model per language; write a ``by-language`` router folder.

    Returns the router's meta (with a per-language report: passages, documents, model and rules
    macro-F1 on the same passages, shipped or why not).
    """
    cfg = replace(cfg or TrainConfig(), embedder="none", tfidf=True, scope_by_folds=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict] = {}
    shipped: dict[str, str] = {}
    results: dict = {}
    default_meta = read_meta(Path(default_model))
    try:
        default_oof = oof_predictions(Path(default_model))
    except FileNotFoundError:
        default_oof = None
    for lang in languages:
        idx = [i for i, code in enumerate(data.languages) if language_code(code) == lang]
        n_docs = len({data.doc_ids[i] for i in idx})
        row: dict = {"passages": len(idx), "documents": n_docs}
        if len(idx) < MIN_PASSAGES or n_docs < MIN_DOCUMENTS:
            row["shipped"] = False
            row["reason"] = f"too little data (needs {MIN_PASSAGES} passages from {MIN_DOCUMENTS} documents)"
            report[lang] = row
            continue
        sub = _subset(data, idx)
        rules = rules_baseline(sub)
        result = train(sub, cfg, annotation_files=annotation_files)
        cv = result.meta["metrics"]["cross_validated"]
        row.update(
            {
                "model_macro_f1": cv["macro_f1"],
                "rules_macro_f1": rules["macro_f1"],
                "model_f1": {lab: cv["labels"][lab]["f1"] for lab in LABELS},
                "rules_f1": {lab: rules["labels"][lab]["f1"] for lab in LABELS},
                "label_counts": sub.label_counts(),
            }
        )
        # The bar is what the passages get without a language model: the default model where its
        # scope (chosen on its own folds) takes the language in, else the rule lexicon.
        baseline, baseline_name = rules["macro_f1"], "the rule lexicon"
        if lang in default_meta.get("languages", []) and default_oof is not None:
            rows = rows_of(default_oof, sub.passage_ids)
            if (rows >= 0).all():
                dec = default_oof["probs"][rows] >= default_oof["thresholds"][rows]
                baseline, baseline_name = label_metrics(sub.y, dec)["macro_f1"], "the default model"
                row["default_macro_f1"] = baseline
        if cv["macro_f1"] > baseline + margin:
            result.meta["languages"] = [lang]
            save_trained(result, out_dir / lang)
            shipped[lang] = lang
            results[lang] = (idx, result)
            row["shipped"] = True
            row["model_id"] = result.meta["model_id"]
        else:
            row["shipped"] = False
            row["reason"] = f"does not beat {baseline_name} on grouped folds"
        report[lang] = row
        log.info("language %s: %s", lang, row)
    default_model = Path(default_model)
    meta = {
        "schema_version": META_SCHEMA_VERSION,
        "kind": KIND,
        "model_id": f"{datetime.now(UTC):%Y%m%d}-lang-{'-'.join(sorted(shipped)) or 'none'}",
        "labels": list(LABELS),
        "default": os.path.relpath(Path(default_model).resolve(), out_dir.resolve()),
        "models": shipped,
        "report": report,
        "margin": margin,
        "versions": library_versions(),
    }
    routed = routed_out_of_fold(data, default_model, default_meta, results)
    if routed is not None:
        meta["oof"] = oof_record(
            source="each passage's out-of-fold prediction from the model that scores it: its language's model "
            "(nested grouped CV on that language) or the default model (its own oof.npz)",
            doc_ids=routed["doc_ids"].tolist(),
            folds=routed["folds"],
        )
        languages = sorted(set(default_meta["languages"]) | set(shipped))
        meta["quantification"] = model_quantification(
            routed["y"],
            routed["probs"],
            routed["row_thresholds"],
            routed["doc_ids"],
            routed["languages"].tolist(),
            languages,
            routed.pop("rule_probs"),
        )
        np.savez_compressed(out_dir / OOF_ARRAYS, **routed)
    elif not shipped and default_meta.get("quantification"):
        # Nothing shipped: the router classifies exactly as its default model does.
        meta["quantification"] = default_meta["quantification"]
    else:
        raise ModelLoadError(
            f"{default_model}: no out-of-fold predictions (oof.npz) to measure the routed model's rates on; "
            "retrain the default model with this release"
        )
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(render_report(meta), encoding="utf-8")
    return meta


def render_report(meta: dict) -> str:
    """The router's model card: one row per language, shipped or not, and why."""
    lines = [
        f"# Per-language models `{meta['model_id']}`",
        "",
        f"Passages in a language with its own model are classified by it; all others by `{meta['default']}`. "
        "A language's model is shipped only when its nested, document-grouped cross-validated macro-F1 beats "
        "what those passages get without it on the same passages: the default model's out-of-fold predictions "
        "where the default takes the language into its scope, else the rule lexicon alone "
        f"(margin {meta.get('margin', 0.0)}).",
        "",
        "| language | passages | documents | model macro-F1 | default model macro-F1 | rules macro-F1 | shipped | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lang, r in meta["report"].items():
        m = f"{r['model_macro_f1']:.3f}" if "model_macro_f1" in r else ""
        d = f"{r['default_macro_f1']:.3f}" if "default_macro_f1" in r else ""
        b = f"{r['rules_macro_f1']:.3f}" if "rules_macro_f1" in r else ""
        lines.append(
            f"| {lang} | {r['passages']} | {r['documents']} | {m} | {d} | {b} | {'yes' if r['shipped'] else 'no'} | {r.get('reason', '')} |"
        )
    lines += document_scores_section(meta)
    return "\n".join(lines) + "\n"


def routed_out_of_fold(
    data: LabelledSet, default_model: Path, default_meta: dict, results: dict
) -> dict[str, np.ndarray] | None:
    """Each labelled passage's out-of-fold prediction from the model that would classify it.

    Passages in a shipped language take that language model's nested-CV predictions; the others
    the default model's stored ones (``oof.npz``, matched by passage id) where the default covers
    their language. Passages outside every model's languages keep a row (no model prediction):
    production gives them the rule lexicon, whose rates are measured on them. Passages the default
    covers but never saw out of fold are left out. ``None`` when the default has no ``oof.npz``.
    """
    try:
        default = oof_predictions(default_model)
    except FileNotFoundError:
        return None
    n = len(data)
    probs = np.zeros((n, len(LABELS)))
    thr = np.full((n, len(LABELS)), 0.5)
    keep = np.ones(n, dtype=bool)
    rows = rows_of(default, data.passage_ids)
    default_langs = default_meta["languages"]
    routed_by = {i for idx, _ in results.values() for i in idx}
    for idx, result in results.values():
        probs[idx] = result.oof_probs
        thr[idx] = result.extra["oof_arrays"]["row_thresholds"]
    for i in range(n):
        if i in routed_by:
            continue
        if "und" in default_langs or language_code(data.languages[i]) in default_langs:
            if rows[i] < 0:
                keep[i] = False
            else:
                probs[i] = default["probs"][rows[i]]
                thr[i] = default["thresholds"][rows[i]]
    idx = np.flatnonzero(keep)
    doc_ids = [data.doc_ids[i] for i in idx]
    languages = [data.languages[i] for i in idx]
    texts = [data.texts[i] for i in idx]
    return {
        "passage_ids": np.asarray([data.passage_ids[i] for i in idx], dtype=str),
        "doc_ids": np.asarray(doc_ids, dtype=str),
        "languages": np.asarray(languages, dtype=str),
        "folds": grouped_folds(doc_ids, 5).astype(np.int64),
        "y": np.asarray(data.y)[idx].astype(np.int8),
        "probs": probs[idx].astype(np.float32),
        "row_thresholds": thr[idx].astype(np.float32),
        "rule_probs": RuleClassifier().predict_texts(texts, languages).probs,
    }


def train_from_annotations(
    annotation_files: Sequence[str | Path],
    output: Path,
    default_model: Path,
    cfg=None,  # noqa: ANN001 - train.TrainConfig
    *,
    corpus: Sequence[str | Path] | None = None,
) -> dict:
    """``cocreation train --method per-language``: resolve the annotations, train and compare per language."""
    from .annotations import default_corpus, load_records, resolve_records

    data = resolve_records(load_records(annotation_files), list(corpus or default_corpus()))
    return train_language_models(
        data, output, default_model, cfg, annotation_files=[str(a) for a in annotation_files]
    )
