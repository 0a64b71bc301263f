"""A model's grouped out-of-fold behaviour, summarised for quantification (``meta.json["oof"]``).

Document scores sum passage probabilities; correcting such sums for a classifier's errors
(adjusted classify-and-count, probabilistic ACC, HDy, EM re-calibration) needs to know how the
model behaves on passages it was not trained on: its true and false positive rates at the
thresholds it uses, and how its calibrated probabilities are distributed within each true class.
Every model kind that ``cocreation train`` writes stores this summary, computed from grouped
out-of-fold predictions (no document on both sides of a fold), in the same format::

    "oof": {
      "format": 1,
      "source": "...",            # how the probabilities were obtained
      "n": 4401, "n_documents": 41, "n_folds": 5,
      "bins": [0.0, 0.05, ..., 1.0],   # 20 equal-width bins; the last one is closed
      "labels": {
        "<label>": {
          "threshold": 0.35,             # the saved model's decision threshold
          "positives": 856, "negatives": 3545, "prevalence": 0.1945,
          "tp": ..., "fp": ..., "fn": ..., "tn": ...,
          "tpr": ..., "fpr": ...,        # of the out-of-fold decisions (each fold's own thresholds)
          "mean_prob_pos": ..., "mean_prob_neg": ...,   # E[p | y=1], E[p | y=0]
          "hist_pos": [...], "hist_neg": [...],          # counts per bin, by true class
          "tpr_by_fold": [...], "fpr_by_fold": [...]     # spread across folds
        }
      }
    }
"""

from __future__ import annotations

import numpy as np

from .codebook import LABELS

OOF_FORMAT = 1
N_BINS = 20


def oof_summary(
    y: np.ndarray,
    probs: np.ndarray,
    thresholds: np.ndarray,
    folds: np.ndarray,
    *,
    source: str,
    doc_ids: list[str] | None = None,
    decisions: np.ndarray | None = None,
    n_bins: int = N_BINS,
) -> dict:
    """Summarise out-of-fold calibrated probabilities ``probs`` against labels ``y`` (see module doc).

    ``decisions`` (optional) are the out-of-fold decisions, each row with the thresholds of its own
    fold (tuned without that fold): then TP/FP/TPR/FPR describe how the thresholding behaves on
    documents it was not tuned on, which is what a correction for misclassification needs. Without
    them, ``probs >= thresholds`` is used.
    """
    y = np.asarray(y).astype(bool)
    probs = np.asarray(probs, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float).reshape(-1)
    folds = np.asarray(folds)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    out: dict = {
        "format": OOF_FORMAT,
        "source": source,
        "n": int(len(y)),
        "n_folds": int(len(np.unique(folds))),
        "bins": [float(e) for e in edges],
        "labels": {},
    }
    if doc_ids is not None:
        out["n_documents"] = len(set(doc_ids))
    for j, label in enumerate(LABELS):
        yj, pj, t = y[:, j], np.clip(probs[:, j], 0.0, 1.0), float(thresholds[j])
        d = np.asarray(decisions[:, j]).astype(bool) if decisions is not None else pj >= t
        tp, fp = int((yj & d).sum()), int((~yj & d).sum())
        fn, tn = int((yj & ~d).sum()), int((~yj & ~d).sum())
        pos, neg = int(yj.sum()), int((~yj).sum())
        tpr_f, fpr_f = [], []
        for k in np.unique(folds):
            m = folds == k
            tpr_f.append(float((yj[m] & d[m]).sum() / yj[m].sum()) if yj[m].any() else None)
            fpr_f.append(float((~yj[m] & d[m]).sum() / (~yj[m]).sum()) if (~yj[m]).any() else None)
        out["labels"][label] = {
            "threshold": t,
            "positives": pos,
            "negatives": neg,
            "prevalence": pos / max(len(yj), 1),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "tpr": tp / pos if pos else None,
            "fpr": fp / neg if neg else None,
            "mean_prob_pos": float(pj[yj].mean()) if pos else None,
            "mean_prob_neg": float(pj[~yj].mean()) if neg else None,
            "hist_pos": np.histogram(pj[yj], bins=edges)[0].astype(int).tolist(),
            "hist_neg": np.histogram(pj[~yj], bins=edges)[0].astype(int).tolist(),
            "tpr_by_fold": tpr_f,
            "fpr_by_fold": fpr_f,
        }
    return out


def grouped_folds(doc_ids: list[str] | np.ndarray, n_folds: int) -> np.ndarray:
    """Fold number per row: GroupKFold on document (the split ``cocreation train`` uses for every model)."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(doc_ids)
    k = min(n_folds, len(set(groups.tolist())))
    folds = np.full(len(groups), -1)
    for f, (_, te) in enumerate(GroupKFold(n_splits=k).split(groups, groups=groups)):
        folds[te] = f
    return folds


def oof_predictions(folder) -> dict[str, np.ndarray]:  # noqa: ANN001 - a model folder path
    """Per-passage out-of-fold calibrated probabilities and each row's thresholds, from a model folder's ``oof.npz``.

    Linear models store them directly; a finetuned model stores logits, which are calibrated and
    thresholded here with each fold's cross-fitted parameters (never fitted on that fold).

    Raises:
        FileNotFoundError: the folder has no ``oof.npz`` (retrain it with this release).
    """
    from pathlib import Path

    file = Path(folder) / "oof.npz"
    if not file.exists():
        raise FileNotFoundError(
            f"{file}: no out-of-fold predictions here; retrain the model with this release"
        )
    with np.load(file, allow_pickle=False) as z:
        arr = {k: z[k] for k in z.files}
    if "probs" in arr:
        return {
            "passage_ids": arr["passage_ids"],
            "probs": arr["probs"],
            "thresholds": arr["row_thresholds"],
            "y": arr["y"],
        }
    from .finetune import fit_calibration
    from .finetuned import calibrate

    logits = arr.get("logits_int8", arr["logits"])
    folds, y = arr["folds"], arr["y"]
    probs = np.zeros_like(logits, dtype=float)
    thr = np.zeros_like(logits, dtype=float)
    for k in np.unique(folds):
        te = folds == k
        platt, t = fit_calibration(logits[~te], y[~te])
        probs[te] = calibrate(logits[te], platt)
        thr[te] = t[None, :]
    return {"passage_ids": arr["passage_ids"], "probs": probs, "thresholds": thr, "y": y}


def band_from_folds(primary, secondary, bands=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3), tolerance: float = 0.01):  # noqa: ANN001, ANN201
    """Choose a cascade band on the two models' out-of-fold predictions (passages both hold).

    Returns (band, rows) from :func:`cocreation_nlp.model.choose_band`.
    """
    from .model import choose_band

    a, b = oof_predictions(primary), oof_predictions(secondary)
    pos = {pid: i for i, pid in enumerate(b["passage_ids"].tolist())}
    ia = [i for i, pid in enumerate(a["passage_ids"].tolist()) if pid in pos]
    ib = [pos[pid] for pid in a["passage_ids"][ia].tolist()]
    if len(ia) < 20:
        raise ValueError(
            "the two models share fewer than 20 out-of-fold passages: train them on the same annotations"
        )
    return choose_band(
        a["y"][ia], a["probs"][ia], a["thresholds"][ia], b["probs"][ib], b["thresholds"][ib], bands, tolerance
    )
