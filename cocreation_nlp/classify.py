"""Stage 3: passage classifiers behind one small protocol.

A classifier returns, for a batch of passages, per-label probabilities,
per-label decisions, the rule evidence and whether each passage was inside
the model's scope (its languages). Rule-only classification needs nothing but
the lexicon; the learned classifier (``model.py``) adds embeddings and a
trained head and is loaded from a model folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .codebook import LABELS
from .rules import RuleHit, RuleMatcher, rule_probabilities, supported_languages


@dataclass(slots=True)
class Predictions:
    """Predictions for a batch of passages (rows) over the codebook labels (columns)."""

    labels: tuple[str, ...]
    probs: np.ndarray  # shape (n, n_labels), float in [0, 1]
    decisions: np.ndarray  # shape (n, n_labels), bool
    evidence: list[dict[str, list[str]]]  # per passage: label -> matched spans
    in_scope: list[bool]
    reasons: list[str] = field(default_factory=list)  # why a passage is out of scope ("" when in scope)
    model_id: str = ""


class PassageClassifier(Protocol):
    """What the pipeline needs from a classifier."""

    labels: tuple[str, ...]
    model_id: str
    languages: tuple[str, ...]

    def predict_texts(self, texts: Sequence[str], languages: Sequence[str]) -> Predictions:
        """Classify passage texts; ``languages`` gives each passage's language code."""
        ...


def evidence_strings(hits: dict[str, list[RuleHit]]) -> dict[str, list[str]]:
    """Matched spans per label, for the exports' evidence column."""
    return {label: [h.text for h in hs] for label, hs in hits.items() if hs}


def match_rules(texts: Sequence[str], languages: Sequence[str]) -> list[dict[str, list[RuleHit]] | None]:
    """Run the lexicon of each passage's language; ``None`` where no lexicon exists."""
    supported = set(supported_languages())
    out: list[dict[str, list[RuleHit]] | None] = [None] * len(texts)
    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(languages):
        base = (lang or "und").split("-")[0].lower()
        if base in supported:
            by_lang.setdefault(base, []).append(i)
    for lang, idx in by_lang.items():
        matcher = RuleMatcher(lang)
        for i, hits in zip(idx, matcher.match_many(texts[i] for i in idx), strict=True):
            out[i] = hits
    return out


class RuleClassifier:
    """Rule-only classification: the lexicon's hits turned into hand-set scores.

    This is the baseline the learned classifiers must beat, and the fallback
    for languages the learned model was not trained on. Decisions use a 0.5
    threshold: one distinct lexicon term is enough.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.labels = LABELS
        self.threshold = threshold
        self.languages = supported_languages()
        self.model_id = "rules-" + RuleMatcher("en").lexicon_version

    def predict_texts(self, texts: Sequence[str], languages: Sequence[str]) -> Predictions:
        """Classify ``texts`` with the lexicon of each passage's language."""
        all_hits = match_rules(texts, languages)
        probs = np.zeros((len(texts), len(self.labels)))
        evidence: list[dict[str, list[str]]] = []
        in_scope: list[bool] = []
        reasons: list[str] = []
        for i, hits in enumerate(all_hits):
            if hits is None:
                evidence.append({})
                in_scope.append(False)
                reasons.append(f"no rule lexicon for language '{languages[i]}'")
                continue
            p = rule_probabilities(hits)
            probs[i] = [p[label] for label in self.labels]
            evidence.append(evidence_strings(hits))
            in_scope.append(True)
            reasons.append("")
        decisions = probs >= self.threshold
        return Predictions(self.labels, probs, decisions, evidence, in_scope, reasons, self.model_id)
