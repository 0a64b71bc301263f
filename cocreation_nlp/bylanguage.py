"""Learned models per language, used only where they beat the rule lexicon on grouped folds.

The English models (MiniLM and its static distillation) do not read French, German, Spanish,
Italian or Dutch, so those passages get rule-only predictions. With labelled passages in a
language, :func:`train_language_models` fits a model on that language alone (word 1-2-gram
TF-IDF plus that language's rule features, no English embedding), evaluates it with the same
nested, document-grouped cross-validation as ``cocreation train``, and keeps it only when its
macro-F1 beats the rules alone on the same passages by ``margin``. Every language's decision and
figures go into the router's meta.json and model card, shipped or not.

A ``by-language`` model folder routes each passage: a language with its own model goes there,
every other passage to the ``default`` model (which gives rule-only predictions outside its own
languages, as before)::

    meta.json   kind "by-language", default (relative path), models {lang: relative path}, report
    fr/ ...     one single-model folder per shipped language
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
from .classify import Predictions
from .codebook import LABELS
from .errors import ModelLoadError

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


def language_of(code: str) -> str:
    """The base language of a code ("fr-BE" -> "fr")."""
    return (code or "und").split("-")[0].lower()


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
    from .model import META_SCHEMA_VERSION, library_versions
    from .train import TrainConfig, rules_baseline, save_trained, train

    cfg = replace(cfg or TrainConfig(), embedder="none", tfidf=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict] = {}
    shipped: dict[str, str] = {}
    for lang in languages:
        idx = [i for i, code in enumerate(data.languages) if language_of(code) == lang]
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
        if cv["macro_f1"] > rules["macro_f1"] + margin:
            result.meta["languages"] = [lang]
            save_trained(result, out_dir / lang)
            shipped[lang] = lang
            row["shipped"] = True
            row["model_id"] = result.meta["model_id"]
        else:
            row["shipped"] = False
            row["reason"] = "does not beat the rule lexicon on grouped folds"
        report[lang] = row
        log.info("language %s: %s", lang, row)
    meta = {
        "schema_version": META_SCHEMA_VERSION,
        "kind": "by-language",
        "model_id": f"{datetime.now(UTC):%Y%m%d}-lang-{'-'.join(sorted(shipped)) or 'none'}",
        "labels": list(LABELS),
        "default": os.path.relpath(Path(default_model).resolve(), out_dir.resolve()),
        "models": shipped,
        "report": report,
        "margin": margin,
        "versions": library_versions(),
    }
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
        f"the rule lexicon alone on the same passages (margin {meta.get('margin', 0.0)}).",
        "",
        "| language | passages | documents | model macro-F1 | rules macro-F1 | shipped | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lang, r in meta["report"].items():
        m = f"{r['model_macro_f1']:.3f}" if "model_macro_f1" in r else ""
        b = f"{r['rules_macro_f1']:.3f}" if "rules_macro_f1" in r else ""
        lines.append(
            f"| {lang} | {r['passages']} | {r['documents']} | {m} | {b} | {'yes' if r['shipped'] else 'no'} | {r.get('reason', '')} |"
        )
    return "\n".join(lines) + "\n"


class LanguageRouter:
    """Send each passage to its language's model, or to the default model."""

    def __init__(self, path: Path, meta: dict, default, models: dict) -> None:  # noqa: ANN001
        self.path = path
        self.meta = meta
        self.default = default
        self.models = models
        self.labels = LABELS
        self.model_id: str = meta["model_id"]
        self.languages = tuple(sorted(set(default.languages) | set(models)))
        self.out_of_scope = default.out_of_scope

    @classmethod
    def load(cls, path: Path, meta: dict) -> LanguageRouter:
        """Load the default model and every per-language model the router names."""
        from .model import load_model

        default = load_model(path / meta["default"])
        models = {}
        for lang, rel in meta.get("models", {}).items():
            m = load_model(path / rel)
            if isinstance(m, LanguageRouter):
                raise ModelLoadError(f"{path / rel}: a per-language model cannot be another router")
            models[lang] = m
        return cls(path, meta, default, models)

    def covers(self, language: str) -> bool:
        """In scope where the default model or a language model is."""
        return language_of(language) in self.models or self.default.covers(language)

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify each passage with the model of its language, else the default model."""
        n = len(texts)
        groups: dict[str, list[int]] = {}
        for i, code in enumerate(languages):
            lang = language_of(code)
            groups.setdefault(lang if lang in self.models else "", []).append(i)
        probs = np.zeros((n, len(LABELS)))
        decisions = np.zeros((n, len(LABELS)), dtype=bool)
        evidence: list[dict] = [{} for _ in range(n)]
        in_scope = [False] * n
        reasons = [""] * n
        for lang, idx in groups.items():
            model = self.models.get(lang, self.default)
            pred = model.predict_texts(
                [texts[i] for i in idx],
                [languages[i] for i in idx],
                [contexts[i] for i in idx] if contexts is not None else None,
            )
            probs[idx] = pred.probs
            decisions[idx] = pred.decisions
            for k, i in enumerate(idx):
                evidence[i] = pred.evidence[k]
                in_scope[i] = pred.in_scope[k]
                reasons[i] = pred.reasons[k] if pred.reasons else ""
        return Predictions(LABELS, probs, decisions, evidence, in_scope, reasons, self.model_id)


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
