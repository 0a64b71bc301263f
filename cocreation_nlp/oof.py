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
          "tpr": ..., "fpr": ...,        # at that threshold
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
    n_bins: int = N_BINS,
) -> dict:
    """Summarise out-of-fold calibrated probabilities ``probs`` against labels ``y`` (see module doc)."""
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
        d = pj >= t
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
