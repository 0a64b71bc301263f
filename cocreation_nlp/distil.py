"""Distillation: the fast model learns from the fine-tuned model's soft labels as well as the human ones.

The teacher (the fine-tuned transformer) scores every passage of the training corpus's ``train``
documents that has no human label; the student (static embeddings + TF-IDF + rule features, one
logistic regression per label) is fitted on the human labels plus those soft targets. A soft
target ``p`` enters a logistic regression exactly as two weighted copies of the passage, a
positive with weight ``p`` and a negative with weight ``1 - p`` (the cross-entropy to ``p``),
scaled by ``weight`` so that the human labels keep the upper hand.

Rules that keep the evaluation honest:

- Only documents whose manifest says ``split = train`` are read; a corpus without a ``split``
  column is refused, because it cannot tell train from reserved documents.
- Inside grouped cross-validation, the student of fold k learns soft labels from the teacher of
  fold k (trained without fold k's documents), and only on passages of documents outside fold k.
- Calibration, regularisation and thresholds are tuned on human labels only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .annotations import LabelledSet
from .codebook import LABELS
from .errors import AnnotationError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class UnlabelledSet:
    """Passages of train documents without a human label."""

    passage_ids: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


def unlabelled_passages(
    labelled: LabelledSet, corpus: Sequence[str | Path], *, min_words: int = 1
) -> UnlabelledSet:
    """Every passage of a ``train`` document of ``corpus`` that ``labelled`` does not hold.

    Raises:
        AnnotationError: a corpus source has no ``split`` in its manifest row.
    """
    from .ingest import discover, read_one
    from .segment import passage_context, segment_document
    from .types import ParseFailure, is_labelling_unit

    have = set(zip(labelled.doc_ids, labelled.passage_ids, strict=True))
    out = UnlabelledSet()
    for src in discover(list(corpus)):
        split = (src.meta or {}).get("split")
        if split is None or split == "":
            raise AnnotationError(
                f"{src.path}: no 'split' in its manifest row: distillation reads train documents only and "
                "cannot tell them from reserved ones"
            )
        if split != "train":
            continue
        doc = read_one(src)
        if isinstance(doc, ParseFailure):
            log.warning("distillation: %s failed to parse: %s", src.doc_id, doc.message)
            continue
        for p in segment_document(doc):
            if (p.doc_id, p.passage_id) in have or not is_labelling_unit(p.kind) or p.n_words < min_words:
                continue
            out.passage_ids.append(p.passage_id)
            out.doc_ids.append(p.doc_id)
            out.texts.append(p.text)
            out.languages.append(p.language)
            out.contexts.append(passage_context(p.heading, p.context))
    return out


def soft_rows(X, soft: np.ndarray, weight: float):  # noqa: ANN001, ANN201
    """Expand soft targets into (X, y, sample_weight) rows per label: a positive copy and a negative copy."""
    import scipy.sparse as sp

    n = soft.shape[0]
    stack = sp.vstack if sp.issparse(X) else np.vstack
    X2 = stack([X, X])
    ys = [np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)] for _ in range(soft.shape[1])]
    ws = [np.r_[soft[:, j], 1.0 - soft[:, j]] * weight for j in range(soft.shape[1])]
    return X2, ys, ws


def fit_student_label(
    X_lab,  # noqa: ANN001
    y: np.ndarray,
    groups: np.ndarray,
    X_soft,  # noqa: ANN001
    y_soft: np.ndarray,
    w_soft: np.ndarray,
    soft_groups: np.ndarray,
    cfg,  # noqa: ANN001 - train.TrainConfig
) -> tuple[object, object, float, float, float]:
    """One label: tune C, Platt and threshold on inner grouped folds of the human labels; soft rows only train.

    Returns (head, calibrator, threshold, C, inner F1), like :func:`cocreation_nlp.train._fit_label`.
    """
    import scipy.sparse as sp
    from sklearn.model_selection import GroupKFold

    from .metrics import best_threshold
    from .train import _lr, _platt

    stack = sp.vstack if sp.issparse(X_lab) else np.vstack

    def fit(rows: np.ndarray, soft_mask: np.ndarray, c: float):  # noqa: ANN202
        Xa = stack([X_lab[rows], X_soft[soft_mask]]) if soft_mask.any() else X_lab[rows]
        ya = np.r_[y[rows], y_soft[soft_mask]]
        wa = np.r_[np.ones(len(rows)), w_soft[soft_mask]]
        return _lr(c, cfg).fit(Xa, ya, sample_weight=wa)

    k = min(cfg.inner_folds, len(set(groups.tolist())))
    best = None
    if y.sum() >= 2 and k >= 2:
        for c in cfg.c_grid:
            oof = np.zeros(len(y))
            for tr, te in GroupKFold(n_splits=k).split(X_lab, y, groups):
                held = set(groups[te].tolist())
                soft_mask = np.array([g not in held for g in soft_groups], dtype=bool)
                if y[tr].sum() == 0:
                    oof[te] = -10.0
                    continue
                oof[te] = fit(tr, soft_mask, c).decision_function(X_lab[te])
            cal = _platt(oof, y)
            t, f = best_threshold(y, cal.predict_proba(oof.reshape(-1, 1))[:, 1])
            if best is None or f > best[0]:
                best = (f, c, t, oof)
    if best is None:
        from .train import _fit_label

        return _fit_label(X_lab, y, groups, cfg)
    f, c, t, oof = best
    head = fit(np.arange(len(y)), np.ones(len(y_soft), dtype=bool), c)
    return head, _platt(oof, y), t, c, f


def fit_student(
    X_lab,  # noqa: ANN001
    Y: np.ndarray,
    groups: np.ndarray,
    X_unl,  # noqa: ANN001
    soft: np.ndarray,
    unl_groups: np.ndarray,
    cfg,  # noqa: ANN001
    weight: float,
):  # noqa: ANN201 - (model.Head, info)
    """Fit all labels of the student (in parallel over labels)."""
    from joblib import Parallel, delayed

    from .model import Head

    X_soft, ys, ws = soft_rows(X_unl, soft, weight)
    sg = np.r_[unl_groups, unl_groups]
    results = Parallel(n_jobs=cfg.n_jobs)(
        delayed(fit_student_label)(X_lab, Y[:, j], groups, X_soft, ys[j], ws[j], sg, cfg)
        for j in range(Y.shape[1])
    )
    head = Head([r[0] for r in results], [r[1] for r in results], np.array([r[2] for r in results]))
    info = {
        label: {"C": r[3], "inner_f1": r[4], "threshold": r[2]}
        for label, r in zip(LABELS, results, strict=True)
    }
    return head, info


def teacher_soft_labels(
    teacher_dir: Path, data: LabelledSet, unl: UnlabelledSet
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Folds per labelled row, per-fold soft labels (folds x unlabelled x labels) and a mask of scored rows.

    Read from the teacher's ``oof.npz``: fold k's soft labels come from the network trained without
    fold k's documents, calibrated with the Platt parameters fitted on the other folds.

    Raises:
        AnnotationError: the teacher was trained on other labelled passages than ``data``.
    """
    from .finetuned import calibrate
    from .oof import OOF_ARRAYS, read_oof_arrays

    arr = read_oof_arrays(Path(teacher_dir) / OOF_ARRAYS)
    pos = {pid: i for i, pid in enumerate(arr["passage_ids"].tolist())}
    missing = [pid for pid in data.passage_ids if pid not in pos]
    if missing or len(pos) != len(data):
        raise AnnotationError(
            f"{teacher_dir}: the teacher was trained on other labelled passages ({len(pos)} vs {len(data)}, "
            f"{len(missing)} not found): retrain it on the same annotations first"
        )
    folds = arr["folds"][[pos[pid] for pid in data.passage_ids]]
    extra_pos = {pid: i for i, pid in enumerate(arr["extra_passage_ids"].tolist())}
    scored = np.array([pid in extra_pos for pid in unl.passage_ids], dtype=bool)
    n_folds = arr["fold_platt"].shape[0]
    soft = np.zeros((n_folds, len(unl), len(LABELS)))
    rows = [extra_pos[pid] for pid in np.asarray(unl.passage_ids)[scored]] if len(unl) else []
    for k in range(n_folds):
        if rows:
            soft[k, scored] = calibrate(arr["extra_logits"][k][rows], arr["fold_platt"][k])
    return folds, soft, scored


def distil_cross_validate(
    X_lab,  # noqa: ANN001
    texts: Sequence[str],
    Y: np.ndarray,
    groups: np.ndarray,
    folds: np.ndarray,
    X_unl,  # noqa: ANN001
    unl_texts: Sequence[str],
    unl_groups: np.ndarray,
    soft_by_fold: np.ndarray | None,
    cfg,  # noqa: ANN001
    weight: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold probabilities, decisions and each row's fold thresholds of the student on the given folds.

    ``soft_by_fold=None`` fits the same student without soft labels (the comparison). Fold k's
    student sees soft rows only from documents outside fold k, labelled by fold k's teacher.
    """
    from .model import combine, make_tfidf

    probs = np.zeros(Y.shape)
    decisions = np.zeros(Y.shape, dtype=bool)
    thresholds = np.zeros(Y.shape)
    arr = np.asarray(list(texts), dtype=object)
    unl_arr = np.asarray(list(unl_texts), dtype=object)
    for k in np.unique(folds):
        tr, te = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        held = set(groups[te].tolist())
        keep = np.array([g not in held for g in unl_groups], dtype=bool)
        if soft_by_fold is None:
            keep[:] = False
        vec = make_tfidf().fit(arr[tr]) if cfg.tfidf else None
        Xtr = combine(X_lab[tr], arr[tr] if vec is not None else (), vec)
        Xs = combine(X_unl[keep], unl_arr[keep] if vec is not None else (), vec)
        soft = soft_by_fold[k][keep] if soft_by_fold is not None else np.zeros((0, Y.shape[1]))
        head, _ = fit_student(Xtr, Y[tr], groups[tr], Xs, soft, unl_groups[keep], cfg, weight)
        p = head.predict_proba(combine(X_lab[te], arr[te] if vec is not None else (), vec))
        probs[te] = p
        decisions[te] = p >= head.thresholds[None, :]
        thresholds[te] = head.thresholds[None, :]
        log.info("distillation fold %d done (%d soft rows)", k + 1, int(keep.sum()))
    return probs, decisions, thresholds


def distil_from_annotations(
    annotation_files: Sequence[str | Path],
    output: Path,
    teacher: Path,
    cfg=None,  # noqa: ANN001 - train.TrainConfig
    *,
    corpus: Sequence[str | Path] | None = None,
    weight: float = 0.5,
    baseline: Path | None = None,
    progress=None,  # noqa: ANN001
) -> dict:
    """``cocreation train --method distil``: the fast model learning human labels plus the teacher's soft labels.

    Reports the student with and without the soft labels on the teacher's folds (the same
    document-grouped folds), and saves the distilled model with its model card. ``baseline`` (a
    plain linear model folder trained on the same annotations, with its ``oof.npz``) saves
    re-running the plain model's nested CV for the "without" figures.
    """
    import hashlib
    import json
    import time
    from datetime import UTC, datetime

    from .annotations import default_corpus, load_records, resolve_records
    from .classify import RuleClassifier, match_rules
    from .metrics import label_metrics
    from .model import featurize, load_model, make_tfidf, slim_tfidf
    from .oof import grouped_folds, oof_record
    from .quantify import model_quantification
    from .train import TrainConfig, TrainResult, oof_arrays, save_trained, train

    say = progress or (lambda m: log.info(m))
    t0 = time.perf_counter()
    cfg = cfg or TrainConfig()
    corpus = list(corpus or default_corpus())
    data = resolve_records(load_records(annotation_files), corpus)
    unl = unlabelled_passages(data, corpus)
    folds, soft_by_fold, scored = teacher_soft_labels(teacher, data, unl)
    say(f"{len(data)} labelled passages; {int(scored.sum())} unlabelled passages with teacher soft labels")
    unl_texts = [t for t, s in zip(unl.texts, scored, strict=True) if s]
    unl_langs = [t for t, s in zip(unl.languages, scored, strict=True) if s]
    unl_groups = np.asarray([t for t, s in zip(unl.doc_ids, scored, strict=True) if s])
    unl_ctx = [t for t, s in zip(unl.contexts, scored, strict=True) if s]
    soft_by_fold = soft_by_fold[:, scored]
    X = featurize(data.texts, data.languages, cfg.embedder, hits=match_rules(data.texts, data.languages))
    Xu = featurize(unl_texts, unl_langs, cfg.embedder)
    groups = np.asarray(data.doc_ids)
    # Without soft labels: the plain linear model, whose nested CV runs on the same GroupKFold folds.
    if not np.array_equal(grouped_folds(data.doc_ids, cfg.outer_folds), folds):
        raise AnnotationError(
            "the teacher's folds differ from the student's: retrain the teacher on these annotations"
        )
    if baseline is not None:
        say(
            f"without soft labels: the plain linear model in {baseline} (its own nested CV on the same folds)"
        )
        bmeta = json.loads((Path(baseline) / "meta.json").read_text(encoding="utf-8"))
        if bmeta.get("training", {}).get("sha256") != data.fingerprint():
            raise AnnotationError(
                f"{baseline} was trained on other annotations: retrain it or leave --baseline out"
            )
        with np.load(Path(baseline) / "oof.npz", allow_pickle=False) as z:
            bpos = {pid: i for i, pid in enumerate(z["passage_ids"].tolist())}
            rows = [bpos[pid] for pid in data.passage_ids]
            p0 = z["probs"][rows].astype(float)
            d0 = p0 >= z["row_thresholds"][rows]
        base = TrainResult(None, bmeta, p0, d0)
    else:
        say("grouped CV without soft labels (plain linear model)")
        base = train(data, cfg, annotation_files=[str(a) for a in annotation_files], features=X)
        p0, d0 = base.oof_probs, base.oof_decisions
    say("grouped CV with soft labels")
    p1, d1, t1 = distil_cross_validate(
        X, data.texts, data.y, groups, folds, Xu, unl_texts, unl_groups, soft_by_fold, cfg, weight
    )
    without, with_ = label_metrics(data.y, d0, p0), label_metrics(data.y, d1, p1)
    say(f"macro-F1 without soft labels {without['macro_f1']:.3f}, with {with_['macro_f1']:.3f}")
    # Final student: the shipped teacher's own probabilities on every unlabelled passage.
    tmodel = load_model(Path(teacher))
    final_soft = (
        tmodel.probabilities(unl_texts, unl_langs, [None] * len(unl_texts), unl_ctx)
        if unl_texts
        else np.zeros((0, len(LABELS)))
    )
    vec = slim_tfidf(make_tfidf().fit(data.texts)) if cfg.tfidf else None
    from .model import combine

    head, info = fit_student(
        combine(X, data.texts, vec),
        data.y,
        groups,
        combine(Xu, unl_texts, vec),
        final_soft,
        unl_groups,
        cfg,
        weight,
    )
    head.tfidf = vec
    meta = json.loads(
        json.dumps(base.meta)
    )  # as for the plain model (embedder, rules, data); distillation's below
    meta["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    tmeta = json.loads((Path(teacher) / "meta.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(f"{meta['model_id']}|{tmeta['model_id']}|{weight}".encode()).hexdigest()[:8]
    meta["model_id"] = f"{meta['model_id'][:8]}-distil-{digest}"
    meta["tuned"] = info
    meta["metrics"]["cross_validated"] = with_
    meta["metrics"]["without_distillation"] = without
    from .evalstats import analysis

    meta["metrics"]["analysis"] = analysis(data.y, d1, p1, data.doc_ids, data.languages)
    meta["metrics"]["protocol"] = (
        "teacher's document-grouped folds; inside each outer fold, C, Platt and thresholds tuned on inner grouped "
        "folds of human labels; soft rows only from documents outside the outer (and inner) test fold"
    )
    meta["distillation"] = {
        "teacher": tmeta["model_id"],
        "teacher_kind": tmeta.get("kind"),
        "soft_passages": len(unl_texts),
        "soft_documents": len(set(unl_groups.tolist())),
        "weight": weight,
        "split": "train documents only",
    }
    # The student's own out-of-fold behaviour (not the plain model's it was copied from): the count
    # estimators' rates and the arrays for cascades, validity and audits.
    meta["quantification"] = model_quantification(
        data.y,
        p1,
        t1,
        data.doc_ids,
        data.languages,
        meta["languages"],
        RuleClassifier().predict_texts(data.texts, data.languages).probs,
    )
    meta["oof"] = oof_record(
        source="outer-fold calibrated probabilities of the distilled student on the teacher's grouped folds, "
        "each row with the thresholds of its fold (tuned on inner folds of human labels)",
        doc_ids=data.doc_ids,
        folds=folds,
    )
    meta.pop("document_validity", None)  # measured for another model, if the baseline carried one
    meta["training"]["seconds_distillation"] = time.perf_counter() - t0
    save_trained(
        TrainResult(head, meta, p1, d1, extra={"oof_arrays": oof_arrays(data, folds, p1, t1)}), Path(output)
    )
    return meta
