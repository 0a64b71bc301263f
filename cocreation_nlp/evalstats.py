"""Evaluation figures an analyst can trust: intervals over documents, calibration, per language.

Passages of one document are not independent (one author, one topic, one template), so a
bootstrap over passages would give intervals that are too narrow. The intervals here resample
**documents** with replacement and recompute precision, recall and F1 from the pooled counts.

Calibration: the expected calibration error of a label is the passage-weighted mean gap between
the mean predicted probability and the observed share of positives, over ten equal-width bins.
A reliability plot draws the same bins, one panel per label.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .codebook import LABELS
from .metrics import label_metrics
from .util import language_code

N_BOOT = 1000
CI_LEVEL = 0.90


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Passage-weighted mean |mean probability - observed share| over equal-width bins.

    Example:
        >>> round(expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 1.0, 0.0])), 3)
        0.0
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    if len(y) == 0:
        return float("nan")
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(y))


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        rec = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
    return prec, rec, f1


def bootstrap_over_documents(
    y: np.ndarray,
    decisions: np.ndarray,
    groups: Sequence[str],
    *,
    n_boot: int = N_BOOT,
    level: float = CI_LEVEL,
    seed: int = 0,
) -> dict:
    """Percentile intervals of per-label precision, recall, F1 and of macro-F1, resampling documents."""
    y = np.asarray(y).astype(bool)
    d = np.asarray(decisions).astype(bool)
    docs, inv = np.unique(np.asarray(groups), return_inverse=True)
    counts = np.zeros((len(docs), 3, y.shape[1]))
    np.add.at(counts[:, 0], inv, (y & d).astype(float))
    np.add.at(counts[:, 1], inv, (~y & d).astype(float))
    np.add.at(counts[:, 2], inv, (y & ~d).astype(float))
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(docs), np.full(len(docs), 1.0 / len(docs)), size=n_boot)  # (B, docs)
    sums = np.einsum("bd,dkl->bkl", draws, counts)
    prec, rec, f1 = _prf(sums[:, 0], sums[:, 1], sums[:, 2])
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out: dict = {"level": level, "n_boot": n_boot, "n_documents": len(docs), "labels": {}}
    for j, label in enumerate(LABELS):
        out["labels"][label] = {
            name: [float(np.percentile(arr[:, j], lo)), float(np.percentile(arr[:, j], hi))]
            for name, arr in (("precision", prec), ("recall", rec), ("f1", f1))
        }
    macro = f1.mean(axis=1)
    out["macro_f1"] = [float(np.percentile(macro, lo)), float(np.percentile(macro, hi))]
    return out


def analysis(
    y: np.ndarray,
    decisions: np.ndarray,
    probs: np.ndarray,
    groups: Sequence[str],
    languages: Sequence[str] | None = None,
    *,
    n_boot: int = N_BOOT,
) -> dict:
    """Per-label P/R/F1 with document-bootstrap intervals, ECE, and the same per language."""

    def block(idx: np.ndarray) -> dict:
        m = label_metrics(y[idx], decisions[idx], probs[idx])
        ci = bootstrap_over_documents(y[idx], decisions[idx], [groups[i] for i in idx], n_boot=n_boot)
        out = {"n": int(len(idx)), "n_documents": ci["n_documents"], "macro_f1": m["macro_f1"], "labels": {}}
        out["macro_f1_ci"] = ci["macro_f1"]
        for j, label in enumerate(LABELS):
            r = m["labels"][label]
            out["labels"][label] = {
                **{k: r[k] for k in ("precision", "recall", "f1", "support", "tp", "fp", "fn", "tn")},
                "ci": ci["labels"][label],
                "ece": expected_calibration_error(y[idx, j], probs[idx, j]),
                "reliability": r.get("reliability", []),
            }
        out["max_ece"] = max(v["ece"] for v in out["labels"].values())
        return out

    y = np.asarray(y)
    decisions = np.asarray(decisions)
    probs = np.asarray(probs)
    result = {"level": CI_LEVEL, "all": block(np.arange(len(y)))}
    if languages is not None:
        result["by_language"] = {}
        langs = np.asarray([language_code(code) for code in languages])
        for lang in sorted(set(langs.tolist())):
            idx = np.flatnonzero(langs == lang)
            result["by_language"][lang] = block(idx)
    return result


def analysis_markdown(res: dict, *, title_level: str = "###") -> str:
    """Tables for a model card or an evaluation report."""

    def table(b: dict) -> list[str]:
        lines = [
            f"| label | precision | recall | F1 ({int(res['level'] * 100)}% interval over documents) | support | ECE |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for label in LABELS:
            r = b["labels"][label]
            lo, hi = r["ci"]["f1"]
            lines.append(
                f"| {label} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} ({lo:.2f}-{hi:.2f}) | {r['support']} | {r['ece']:.3f} |"
            )
        lo, hi = b["macro_f1_ci"]
        lines.append(
            f"| **macro** | | | **{b['macro_f1']:.3f}** ({lo:.2f}-{hi:.2f}) | {b['n']} | max {b['max_ece']:.3f} |"
        )
        return lines

    out = [f"{title_level} All passages ({res['all']['n']} from {res['all']['n_documents']} documents)", ""]
    out += table(res["all"])
    for lang, b in res.get("by_language", {}).items():
        out += ["", f"{title_level} Language `{lang}` ({b['n']} passages, {b['n_documents']} documents)", ""]
        out += table(b)
    return "\n".join(out) + "\n"


def reliability_plot(
    y: np.ndarray, probs: np.ndarray, path: Path, *, title: str = "", n_bins: int = 10
) -> Path:
    """A PNG with one reliability diagram per label (mean probability vs observed share, bin sizes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.asarray(y)
    probs = np.asarray(probs)
    fig, axes = plt.subplots(2, 4, figsize=(14, 7))
    edges = np.linspace(0, 1, n_bins + 1)
    for j, label in enumerate(LABELS):
        ax = axes.flat[j]
        p = np.clip(probs[:, j], 0, 1)
        idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
        xs, ys, ns = [], [], []
        for b in range(n_bins):
            m = idx == b
            if m.any():
                xs.append(p[m].mean())
                ys.append(y[m, j].mean())
                ns.append(int(m.sum()))
        ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1)
        ax.plot(xs, ys, marker="o", color="#1f5f8b")
        for x, yy, n in zip(xs, ys, ns, strict=True):
            ax.annotate(str(n), (x, yy), textcoords="offset points", xytext=(3, -10), fontsize=7)
        ax.set_title(f"{label} (ECE {expected_calibration_error(y[:, j], p, n_bins):.3f})", fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xticks(edges[::2])
        ax.set_xlabel("mean predicted probability", fontsize=8)
        ax.set_ylabel("observed share", fontsize=8)
    axes.flat[-1].axis("off")
    fig.suptitle(title or "Reliability per label (numbers: passages per bin)")
    fig.tight_layout()
    from .atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path
