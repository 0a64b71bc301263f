"""Per-label classification figures, and the decision threshold that maximises a label's F1.

Every model kind (linear heads, the fine-tuned transformer, the distilled student, a cascade
chosen on the folds) is tuned and reported with these two functions, so that their figures are
comparable: one place defines precision, recall, F1, the Brier score and the threshold grid.
Nothing here knows about models or files; it works on label, decision and probability arrays.
"""

from __future__ import annotations

import numpy as np

from .codebook import LABELS

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
"""Candidate decision thresholds (0.05 to 0.95 by 0.025)."""


def _f1(y: np.ndarray, d: np.ndarray) -> float:
    tp = int((y & d).sum())
    fp = int((~y & d).sum())
    fn = int((y & ~d).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """The threshold of :data:`THRESHOLD_GRID` with the highest F1 on ``(y, p)``, and that F1.

    Ties go to the lowest threshold; with no positive decision possible, 0.5.

    Example:
        >>> best_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.6, 0.9]))
        (0.325, 1.0)
    """
    yb = np.asarray(y).astype(bool)
    best = (0.5, -1.0)
    for t in THRESHOLD_GRID:
        f = _f1(yb, p >= t)
        if f > best[1] + 1e-12:
            best = (float(t), f)
    return best


def label_metrics(
    Y: np.ndarray, decisions: np.ndarray, probs: np.ndarray | None = None, *, n_bins: int = 10
) -> dict:
    """Per-label precision, recall, F1, support, confusion counts, Brier score and reliability bins."""
    out: dict = {"labels": {}}
    f1s = []
    for j, label in enumerate(LABELS):
        y = Y[:, j].astype(bool)
        d = decisions[:, j].astype(bool)
        tp, fp, fn, tn = int((y & d).sum()), int((~y & d).sum()), int((y & ~d).sum()), int((~y & ~d).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        row = {
            "precision": prec,
            "recall": rec,
            "f1": f1,
            "support": int(y.sum()),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        }
        if probs is not None:
            p = probs[:, j]
            row["brier"] = float(np.mean((p - y) ** 2))
            bins = []
            edges = np.linspace(0, 1, n_bins + 1)
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                m = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
                if m.any():
                    bins.append(
                        {
                            "bin": f"{lo:.1f}-{hi:.1f}",
                            "n": int(m.sum()),
                            "mean_prob": float(p[m].mean()),
                            "observed": float(y[m].mean()),
                        }
                    )
            row["reliability"] = bins
        out["labels"][label] = row
        f1s.append(f1)
    out["macro_f1"] = float(np.mean(f1s))
    out["n"] = int(len(Y))
    return out
