"""Markdown tables of the document-level validity results (model cards, evaluation reports).

Kept apart from :mod:`~cocreation_nlp.validity`, which re-runs training on grouped folds: a model card
renders these tables without importing the training code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .score import SCORES

SATURATION_BAND = 0.02
"""Two documents' scores closer than this count as the same value when saturation is measured."""


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.0f}%"


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def _saturated(r: Mapping) -> str:
    """A warning where one value holds more than half of the documents but not of the gold."""
    return " saturated" if r["saturation"] > 0.5 and r["gold_saturation"] <= 0.5 else ""


def validity_table(result: Mapping, *, methods: Sequence[str] | None = None) -> str:
    """Markdown: one row per method and score (overall first)."""
    lines = [
        "| method | score | MAE | within 0.10 | 90% interval coverage | undefined agreement | agreement (all pairs) | saturation (gold) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method in methods or result["methods"]:
        s = result["summary"][method]
        for name in ("overall", *SCORES):
            r = s[name]
            label = f"**{method}**" if method == result.get("chosen") else method
            lines.append(
                f"| {label} | {name} | {_num(r['mae'])} | {_pct(r['within_0.10'])} | {_pct(r['coverage'])} "
                f"| {_pct(r['undefined_agreement'])} | {_pct(r['agreement'])} "
                f"| {_pct(r['saturation'])} ({_pct(r['gold_saturation'])}){_saturated(r)} |"
            )
    return "\n".join(lines) + "\n"


def validity_markdown(result: Mapping, *, title: str = "Document-level validity") -> str:
    """A readable report: what was measured, the choice, the table."""
    return (
        f"# {title}\n\n"
        f"{result['n_documents']} complete-document gold documents ({result['n_passages']} hand-labelled passages), "
        f"grouped folds ({result['scheme']} quantification parameters), evaluated {result['evaluated_at']}. "
        f"Each score from out-of-fold predictions is compared with the same score computed from the document's "
        f"hand labels. MAE, within {result['tolerance']:.2f} and coverage are over pairs defined on both sides; "
        "agreement counts all pairs (both undefined agrees). Saturation: the largest share of documents within "
        f"±{SATURATION_BAND} of one value (the gold's in brackets; *saturated* where it is over half and the "
        f"gold's is not). {int(100 * result['ci'])}% intervals, "
        f"{result['n_bootstrap']} draws; minimum denominator {result['min_denominator']:g}.\n\n"
        f"Chosen method: **{result['chosen']}** ({result['choice_rule']}).\n\n" + validity_table(result)
    )
