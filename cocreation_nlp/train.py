"""Training: annotations -> features -> nested, document-grouped cross-validation -> saved model.

Why nested: per-label regularisation, Platt calibration and decision
thresholds are all tuned, and tuning them on the folds that also report the
metrics would flatter the model. Every figure in a model card therefore comes
from outer folds whose documents the tuning never saw: passages of one
document never sit on both sides of a fold (GroupKFold on doc_id).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .annotations import LabelledSet
from .classify import Predictions, RuleClassifier, match_rules
from .codebook import LABELS, load_codebook
from .evalstats import analysis
from .metrics import THRESHOLD_GRID, best_threshold, label_metrics  # noqa: F401 - re-exported for callers
from .model import (
    META_SCHEMA_VERSION,
    Head,
    combine,
    featurize,
    library_versions,
    make_tfidf,
    save_single,
    slim_tfidf,
)
from .oof import OOF_ARRAYS, grouped_folds, oof_record, read_oof_arrays
from .quantify import model_quantification
from .rules import RuleMatcher, rule_probabilities
from .util import language_code

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Training settings (recorded in the model's meta.json)."""

    embedder: str = "static"
    outer_folds: int = 5
    inner_folds: int = 4
    c_grid: tuple[float, ...] = (0.25, 1.0, 4.0)
    tfidf: bool = True
    class_weight: str | None = "balanced"
    max_iter: int = 3000
    n_jobs: int = 2
    # Take a language beyond the embedder's into the model's scope where the model beats the rule
    # lexicon on that language's grouped out-of-fold passages (see ``language_scope``).
    scope_by_folds: bool = True


def _lr(c: float, cfg: TrainConfig):  # noqa: ANN202
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight=cfg.class_weight, max_iter=cfg.max_iter, solver="lbfgs")


def _platt(logit: np.ndarray, y: np.ndarray):  # noqa: ANN202
    from sklearn.linear_model import LogisticRegression

    cal = LogisticRegression(C=1e4, max_iter=1000)
    if len(set(y.tolist())) < 2:
        # A label absent from the training data: a calibrator that always says "no".
        cal.fit(np.array([[-1.0], [1.0]]), np.array([0, 1]))
        cal.coef_[:] = 0.0
        cal.intercept_[:] = -20.0
        return cal
    cal.fit(logit.reshape(-1, 1), y)
    return cal


def _fit_label(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: TrainConfig
) -> tuple[object, object, float, float, float]:
    """Tune C, calibration and threshold of one label on inner folds; fit on all of X.

    Returns (head, calibrator, threshold, C, inner F1).
    """
    from sklearn.model_selection import GroupKFold

    n_groups = len(set(groups.tolist()))
    k = min(cfg.inner_folds, n_groups)
    best: tuple[float, float, float, np.ndarray] | None = None  # (f1, C, threshold, oof logits)
    if y.sum() >= 2 and k >= 2:
        for c in cfg.c_grid:
            oof = np.zeros(len(y))
            for tr, te in GroupKFold(n_splits=k).split(X, y, groups):
                if y[tr].sum() == 0 or y[tr].sum() == len(tr):
                    oof[te] = -10.0 if y[tr].sum() == 0 else 10.0
                    continue
                m = _lr(c, cfg).fit(X[tr], y[tr])
                oof[te] = m.decision_function(X[te])
            cal = _platt(oof, y)
            p = cal.predict_proba(oof.reshape(-1, 1))[:, 1]
            t, f = best_threshold(y, p)
            if best is None or f > best[0]:
                best = (f, c, t, oof)
    if best is None:
        c, t, f, oof = 1.0, 0.5, 0.0, np.zeros(len(y))
    else:
        f, c, t, oof = best
    if y.sum() == 0 or y.sum() == len(y):
        head = _lr(c, cfg).fit(X[[0, 0]], np.array([0, 1]))  # row indexing works for dense and sparse X
        head.coef_[:] = 0.0
        head.intercept_[:] = -20.0 if y.sum() == 0 else 20.0
        return head, _platt(np.zeros(2), np.array([0, 0])), 0.5, c, 0.0
    head = _lr(c, cfg).fit(X, y)
    cal = _platt(oof, y)
    return head, cal, t, c, f


def fit_head(X: np.ndarray, Y: np.ndarray, groups: np.ndarray, cfg: TrainConfig) -> tuple[Head, dict]:
    """Fit all seven labels (in parallel over labels)."""
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=cfg.n_jobs)(
        delayed(_fit_label)(X, Y[:, j], groups, cfg) for j in range(Y.shape[1])
    )
    heads = [r[0] for r in results]
    cals = [r[1] for r in results]
    thresholds = np.array([r[2] for r in results])
    info = {
        label: {"C": r[3], "inner_f1": r[4], "threshold": r[2]}
        for label, r in zip(LABELS, results, strict=True)
    }
    return Head(heads, cals, thresholds), info


def cross_validate(
    X: np.ndarray, Y: np.ndarray, groups: np.ndarray, cfg: TrainConfig, texts: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outer grouped folds: returns (out-of-fold probabilities, decisions, per-row thresholds of its fold).

    With ``cfg.tfidf`` the vectoriser is fitted on each outer training split
    only, so no vocabulary or IDF leaks from the passages that are scored.
    """
    from sklearn.model_selection import GroupKFold

    probs = np.zeros(Y.shape, dtype=float)
    decisions = np.zeros(Y.shape, dtype=bool)
    thresholds = np.zeros(Y.shape, dtype=float)
    k = min(cfg.outer_folds, len(set(groups.tolist())))
    arr = np.asarray(list(texts), dtype=object) if texts is not None else None
    for f, (tr, te) in enumerate(GroupKFold(n_splits=k).split(X, Y, groups)):
        vec = make_tfidf().fit(arr[tr]) if cfg.tfidf and arr is not None else None
        head, _ = fit_head(combine(X[tr], arr[tr] if vec is not None else (), vec), Y[tr], groups[tr], cfg)
        p = head.predict_proba(combine(X[te], arr[te] if vec is not None else (), vec))
        probs[te] = p
        decisions[te] = p >= head.thresholds[None, :]
        thresholds[te] = head.thresholds[None, :]
        log.info("outer fold %d/%d done", f + 1, k)
    return probs, decisions, thresholds


MIN_SCOPE_PASSAGES = 40
MIN_SCOPE_DOCUMENTS = 3


def language_scope(
    y: np.ndarray,
    decisions: np.ndarray,
    rule_decisions: np.ndarray,
    doc_ids: Sequence[str],
    languages: Sequence[str],
    base: Sequence[str],
) -> tuple[list[str], dict[str, dict]]:
    """Languages beyond the embedder's where the model itself, not the rule lexicon, should classify.

    The embedder may be English, but TF-IDF and the rule features learn from every labelled
    passage, so on a multilingual training set the model can beat the lexicon in other languages
    too. Whether it does is decided on the grouped out-of-fold decisions, per language, against the
    rules on the same passages; a language needs ``MIN_SCOPE_PASSAGES`` passages from
    ``MIN_SCOPE_DOCUMENTS`` documents to be judged at all (fewer documents make the folds a coin).
    Returns the languages taken into scope and a report row per language.
    """
    codes = np.asarray([language_code(code) for code in languages])
    report: dict[str, dict] = {}
    chosen: list[str] = []
    for lang in sorted(set(codes) - set(base) - {"und", ""}):
        idx = np.flatnonzero(codes == lang)
        n_docs = len({doc_ids[i] for i in idx})
        row: dict = {"passages": int(len(idx)), "documents": n_docs}
        if len(idx) < MIN_SCOPE_PASSAGES or n_docs < MIN_SCOPE_DOCUMENTS:
            row.update(
                in_scope=False,
                reason=f"too little data ({MIN_SCOPE_PASSAGES} passages from {MIN_SCOPE_DOCUMENTS} documents needed)",
            )
        else:
            model_f1 = label_metrics(y[idx], decisions[idx])["macro_f1"]
            rules_f1 = label_metrics(y[idx], rule_decisions[idx])["macro_f1"]
            row.update(model_macro_f1=model_f1, rules_macro_f1=rules_f1, in_scope=bool(model_f1 > rules_f1))
            if row["in_scope"]:
                chosen.append(lang)
            else:
                row["reason"] = "the rule lexicon does better on grouped folds"
        report[lang] = row
    return chosen, report


def routed_metrics(
    y: np.ndarray,
    probs: np.ndarray,
    decisions: np.ndarray,
    rule_pred: Predictions,
    languages: Sequence[str],
    model_languages: Sequence[str],
) -> dict:
    """Out-of-fold metrics as ``score`` would give them: the model inside its languages, the rules elsewhere."""
    covered = np.asarray(["und" in model_languages or language_code(c) in model_languages for c in languages])
    p = np.where(covered[:, None], probs, rule_pred.probs)
    d = np.where(covered[:, None], decisions, rule_pred.decisions)
    out = label_metrics(y, d, p)
    out["n_rules"] = int((~covered).sum())
    return out


def rules_baseline(data: LabelledSet) -> dict:
    """The rule lexicon alone on the annotations: the baseline a learned model must beat."""
    hits = match_rules(data.texts, data.languages)
    dec = np.zeros(data.y.shape, dtype=bool)
    for i, h in enumerate(hits):
        if h is None:
            continue
        p = rule_probabilities(h)
        dec[i] = [p[label] >= 0.5 for label in LABELS]
    return label_metrics(data.y, dec)


@dataclass(slots=True)
class TrainResult:
    """What training produced: the head, its meta and the cross-validated evidence."""

    head: Head
    meta: dict
    oof_probs: np.ndarray
    oof_decisions: np.ndarray
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def train(
    data: LabelledSet,
    cfg: TrainConfig | None = None,
    *,
    annotation_files: Sequence[str] = (),
    features: np.ndarray | None = None,
) -> TrainResult:
    """Cross-validate, then fit the final model on all the data."""
    from .embed import get_embedder

    cfg = cfg or TrainConfig()
    t0 = time.perf_counter()
    if len(data) < 20:
        from .errors import AnnotationError

        raise AnnotationError(f"only {len(data)} labelled passages: at least 20 are needed to train")
    X = features if features is not None else featurize(data.texts, data.languages, cfg.embedder)
    groups = np.asarray(data.doc_ids)
    probs, decisions, oof_thresholds = cross_validate(X, data.y, groups, cfg, data.texts)
    cv = label_metrics(data.y, decisions, probs)
    vec = slim_tfidf(make_tfidf().fit(data.texts)) if cfg.tfidf else None
    head, info = fit_head(combine(X, data.texts, vec), data.y, groups, cfg)
    head.tfidf = vec
    embedder = get_embedder(cfg.embedder)
    rule_pred = RuleClassifier().predict_texts(data.texts, data.languages)
    model_languages = list(embedder.languages) if "und" not in embedder.languages else ["und"]
    scope: dict[str, dict] = {}
    if "und" not in model_languages and cfg.scope_by_folds:
        extra_languages, scope = language_scope(
            data.y, decisions, rule_pred.decisions, data.doc_ids, data.languages, model_languages
        )
        model_languages = sorted(set(model_languages) | set(extra_languages))
    as_scored = routed_metrics(data.y, probs, decisions, rule_pred, data.languages, model_languages)
    quantification = model_quantification(
        data.y,
        probs,
        oof_thresholds,
        groups,
        data.languages,
        model_languages,
        rule_pred.probs,
    )
    codebook = load_codebook()
    data_sha = data.fingerprint()
    material = json.dumps(
        {
            "cfg": str(cfg),
            "data": data_sha,
            "codebook": codebook.version,
        },
        default=str,
        sort_keys=True,
    )
    now = datetime.now(UTC)
    model_id = f"{now:%Y%m%d}-{hashlib.sha256(material.encode()).hexdigest()[:8]}"
    langs = sorted(set(data.languages))
    meta = {
        "schema_version": META_SCHEMA_VERSION,
        "model_id": model_id,
        "kind": "single",
        "task": "multi-label passage classification (Bassi 2022 co-creation codebook)",
        "labels": list(LABELS),
        "codebook_version": codebook.version,
        "rules": {"lexicon_version": RuleMatcher("en").lexicon_version},
        "created_at": now.isoformat(timespec="seconds"),
        "embedder": embedder.describe(),
        "languages": model_languages,
        "out_of_scope": "rules",
        "feature_layout": {
            "embedding_dim": int(embedder.dim),
            "rule_features": int(X.shape[1] - embedder.dim),
            "tfidf_features": len(vec.vocabulary_) if vec is not None else 0,
        },
        "train_config": {
            "embedder": cfg.embedder,
            "tfidf": cfg.tfidf,
            "outer_folds": cfg.outer_folds,
            "inner_folds": cfg.inner_folds,
            "c_grid": list(cfg.c_grid),
            "class_weight": cfg.class_weight,
            "scope_by_folds": cfg.scope_by_folds,
        },
        "tuned": info,
        "training": {
            "annotations": [str(a) for a in annotation_files],
            "sha256": data_sha,
            "n_examples": len(data),
            "n_documents": len(set(data.doc_ids)),
            "label_counts": data.label_counts(),
            "languages": {lang: data.languages.count(lang) for lang in langs},
            "n_stale_records": len(data.stale),
        },
        "metrics": {"cross_validated": cv, "as_scored": as_scored, "rules_baseline": rules_baseline(data)},
        "language_scope": scope,
        "quantification": quantification,
        "versions": library_versions(),
    }
    meta["metrics"]["analysis"] = analysis(data.y, decisions, probs, data.doc_ids, data.languages)
    folds = grouped_folds(data.doc_ids, cfg.outer_folds)
    meta["oof"] = oof_record(
        source="outer-fold calibrated probabilities of nested grouped CV, each row with the thresholds of its "
        "fold (tuned on that fold's inner folds)",
        doc_ids=data.doc_ids,
        folds=folds,
    )
    extra = {"oof_arrays": oof_arrays(data, folds, probs, oof_thresholds)}
    return TrainResult(head, meta, probs, decisions, time.perf_counter() - t0, extra)


def oof_arrays(
    data: LabelledSet, folds: np.ndarray, probs: np.ndarray, row_thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """The ``oof.npz`` arrays of a linear model (see :mod:`cocreation_nlp.oof`): numbers and ids, no text."""
    return {
        "passage_ids": np.asarray(data.passage_ids, dtype=str),
        "doc_ids": np.asarray(data.doc_ids, dtype=str),
        "languages": np.asarray(data.languages, dtype=str),
        "folds": np.asarray(folds).astype(np.int64),
        "y": np.asarray(data.y).astype(np.int8),
        "probs": np.asarray(probs).astype(np.float32),
        "row_thresholds": np.broadcast_to(row_thresholds, np.shape(probs)).astype(np.float32),
    }


def save_trained(result: TrainResult, out_dir: Path) -> None:
    """Save a trained model folder with its model card and its out-of-fold arrays."""
    from .modelcard import render_model_card

    save_single(out_dir, result.meta, result.head)
    (out_dir / "README.md").write_text(render_model_card(result.meta), encoding="utf-8")
    if result.extra.get("oof_arrays"):
        # Per-passage out-of-fold probabilities and each row's fold thresholds: what choosing a
        # cascade band, document-level validity of other kinds, or auditing labels needs.
        np.savez_compressed(out_dir / OOF_ARRAYS, **result.extra["oof_arrays"])


def refresh_card(model_dir: Path, languages: Sequence[str] | None = None) -> dict:
    """Recompute a linear model folder's analysis from its ``oof.npz`` and re-render its card.

    Nothing is retrained: the stored out-of-fold probabilities and each row's fold thresholds give
    the decisions. ``languages`` (aligned with the stored passages; default: the stored ones) adds
    the per-language figures.
    """
    from .modelcard import render_model_card

    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    arr = read_oof_arrays(model_dir / OOF_ARRAYS)
    y = arr["y"].astype(int)
    probs = arr["probs"].astype(float)
    decisions = probs >= arr["row_thresholds"]
    if languages is None and "languages" in arr:
        languages = arr["languages"].tolist()
    meta["metrics"]["analysis"] = analysis(y, decisions, probs, arr["doc_ids"].tolist(), languages)
    meta["oof"] = oof_record(
        source=(meta.get("oof") or {}).get("source", "outer-fold predictions of grouped CV"),
        doc_ids=arr["doc_ids"].tolist(),
        folds=arr["folds"],
    )
    (model_dir / "meta.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (model_dir / "README.md").write_text(render_model_card(meta), encoding="utf-8")
    return meta
