"""``cocreation evaluate``: a model against gold annotations: per-label P/R/F1, confusion, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .annotations import default_corpus, load_records, resolve_records
from .atomic import write_text_atomic
from .codebook import LABELS
from .errors import AnnotationError
from .metrics import label_metrics
from .model import load_classifier
from .tables import write_csv

METRICS_COLUMNS: tuple[str, ...] = (
    "label",
    "precision",
    "recall",
    "f1",
    "support",
    "tp",
    "fp",
    "fn",
    "tn",
    "brier",
)


def evaluate_model(
    model: str, gold: Sequence[str | Path], *, corpus: Sequence[str | Path] | None = None
) -> dict:
    """Evaluate ``model`` (a folder or ``rules``) on gold annotation files.

    Passages outside the model's languages are scored with the rule fallback
    the model uses in production, and counted separately.
    """
    data = resolve_records(load_records(gold), corpus if corpus else default_corpus())
    if not len(data):
        raise AnnotationError(
            "no gold passages could be resolved"
            + (f" ({len(data.stale)} stale records)" if data.stale else "")
        )
    clf = load_classifier(str(model))
    preds = clf.predict_texts(data.texts, data.languages, data.contexts or None)
    metrics = label_metrics(data.y, preds.decisions, preds.probs)
    metrics["model_id"] = clf.model_id
    metrics["n_stale"] = len(data.stale)
    metrics["n_rule_fallback"] = sum(1 for r in preds.reasons if r.startswith("rule-only"))
    metrics["n_documents"] = len(set(data.doc_ids))
    from .evalstats import analysis

    metrics["analysis"] = analysis(data.y, preds.decisions, preds.probs, data.doc_ids, data.languages)
    metrics["_arrays"] = (data.y, preds.probs)  # for the reliability plot; not written to JSON
    return metrics


def metrics_rows(metrics: dict) -> list[dict]:
    """One CSV row per label plus a macro row."""
    rows = []
    for label in LABELS:
        m = metrics["labels"][label]
        rows.append(
            {
                "label": label,
                **{k: m[k] for k in ("precision", "recall", "f1", "support", "tp", "fp", "fn", "tn")},
                "brier": m.get("brier", np.nan),
            }
        )
    rows.append(
        {
            "label": "macro",
            "precision": np.mean([r["precision"] for r in rows]),
            "recall": np.mean([r["recall"] for r in rows]),
            "f1": metrics["macro_f1"],
            "support": metrics["n"],
            "tp": "",
            "fp": "",
            "fn": "",
            "tn": "",
            "brier": np.mean([r["brier"] for r in rows]),
        }
    )
    return rows


def metrics_markdown(metrics: dict) -> str:
    """Markdown tables: per-label metrics, then reliability bins."""
    lines = [
        f"# Evaluation of `{metrics.get('model_id', '')}`",
        "",
        f"{metrics['n']} gold passages from {metrics.get('n_documents', '?')} documents; stale records skipped: {metrics.get('n_stale', 0)}; rule-fallback passages: {metrics.get('n_rule_fallback', 0)}.",
        "",
    ]
    lines += [
        "| label | precision | recall | F1 | support | TP | FP | FN | TN | Brier |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in metrics_rows(metrics):
        fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
        lines.append(
            "| "
            + " | ".join(
                fmt(r[k])
                for k in ("label", "precision", "recall", "f1", "support", "tp", "fp", "fn", "tn", "brier")
            )
            + " |"
        )
    lines += [
        "",
        "## Calibration (reliability bins)",
        "",
        "| label | bin | n | mean probability | observed share |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in LABELS:
        for b in metrics["labels"][label].get("reliability", []):
            lines.append(f"| {label} | {b['bin']} | {b['n']} | {b['mean_prob']:.3f} | {b['observed']:.3f} |")
    if metrics.get("analysis"):
        from .evalstats import analysis_markdown

        lines += [
            "",
            "## Intervals over documents, calibration error, languages",
            "",
            "Percentile bootstrap intervals resampling documents (passages of a document are not independent); "
            "ECE = expected calibration error over 10 equal-width bins. The reliability plot is beside this file.",
            "",
            analysis_markdown(metrics["analysis"]),
        ]
    return "\n".join(lines) + "\n"


def write_evaluation(metrics: dict, output: Path) -> tuple[Path, Path]:
    """Write ``<output>.csv`` and ``<output>.md``."""
    base = output.with_suffix("") if output.suffix in (".csv", ".md") else output
    csv_path, md_path = base.with_suffix(".csv"), base.with_suffix(".md")
    write_csv(csv_path, METRICS_COLUMNS, metrics_rows(metrics))
    write_text_atomic(md_path, metrics_markdown(metrics))
    if metrics.get("_arrays") is not None:
        from .evalstats import reliability_plot

        y, probs = metrics["_arrays"]
        reliability_plot(
            y,
            probs,
            base.with_name(base.name + ".reliability.png"),
            title=f"Reliability of {metrics.get('model_id', '')}",
        )
    return csv_path, md_path
