"""Stage 3: passage classifiers behind one small protocol, and the record of one passage's prediction.

A classifier returns, for a batch of passages, per-label probabilities,
per-label decisions, the rule evidence and whether each passage was inside
the model's scope (its languages): a :class:`Predictions` batch, whose
:meth:`Predictions.records` gives one :class:`PassagePrediction` per passage.
Rule-only classification needs nothing but the lexicon; the learned
classifiers (``model.py``) add embeddings and a trained head and are loaded
from a model folder by :func:`cocreation_nlp.model.load_classifier`.

This module does no file I/O: reading and writing tables of passages is
``predict.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .codebook import LABELS
from .rules import RuleHit, RuleMatcher, rule_probabilities, supported_languages
from .util import language_code


@dataclass(frozen=True, slots=True)
class PassagePrediction:
    """What a classifier says about one passage.

    Attributes:
        probs: Probability per codebook label (in :data:`~cocreation_nlp.codebook.LABELS`
            order), or ``None`` when the passage got no prediction (empty text, a
            language the model and the rule lexicons do not cover).
        decisions: Whether each label applies (the model's tuned thresholds), or ``None``.
        evidence: Matched rule-lexicon spans per label (only labels with hits).
        reason: Why there is no prediction, or why it is rule-only; ``""`` otherwise.

    Example:
        >>> p = PassagePrediction((0.9, 0, 0, 0, 0, 0, 0), (True, False, False, False, False, False, False))
        >>> p.in_scope, p.applied, p.probability("individual")
        (True, ('individual',), 0.9)
        >>> PassagePrediction.from_dict(p.to_dict()) == p
        True
    """

    probs: tuple[float, ...] | None
    decisions: tuple[bool, ...] | None
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.probs is None) != (self.decisions is None):
            raise ValueError("PassagePrediction: probs and decisions must both be given or both be None.")
        for name, values in (("probs", self.probs), ("decisions", self.decisions)):
            if values is not None and len(values) != len(LABELS):
                raise ValueError(
                    f"PassagePrediction: {name} must have one value per label ({len(LABELS)}); got {len(values)}."
                )

    @property
    def in_scope(self) -> bool:
        """Whether the passage has a prediction (model or rule-only)."""
        return self.probs is not None

    @property
    def applied(self) -> tuple[str, ...]:
        """The labels decided to apply, in codebook order."""
        if self.decisions is None:
            return ()
        return tuple(label for label, d in zip(LABELS, self.decisions, strict=True) if d)

    def probability(self, label: str) -> float | None:
        """The probability of ``label``, or ``None`` without a prediction."""
        return None if self.probs is None else self.probs[LABELS.index(label)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists for tuples)."""
        return {
            "probs": None if self.probs is None else list(self.probs),
            "decisions": None if self.decisions is None else list(self.decisions),
            "evidence": {label: list(spans) for label, spans in self.evidence.items()},
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PassagePrediction:
        """The inverse of :meth:`to_dict`."""
        probs, decisions = data["probs"], data["decisions"]
        return cls(
            probs=None if probs is None else tuple(float(x) for x in probs),
            decisions=None if decisions is None else tuple(bool(x) for x in decisions),
            evidence={label: tuple(spans) for label, spans in data.get("evidence", {}).items()},
            reason=str(data.get("reason", "")),
        )


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

    def records(self) -> list[PassagePrediction]:
        """One :class:`PassagePrediction` per passage; out-of-scope passages get ``None`` probabilities."""
        out = []
        for i in range(len(self.in_scope)):
            scoped = bool(self.in_scope[i])
            out.append(
                PassagePrediction(
                    probs=tuple(float(x) for x in self.probs[i]) if scoped else None,
                    decisions=tuple(bool(x) for x in self.decisions[i]) if scoped else None,
                    evidence={label: tuple(spans) for label, spans in self.evidence[i].items()},
                    reason=self.reasons[i] if self.reasons else "",
                )
            )
        return out


class PassageClassifier(Protocol):
    """What the pipeline needs from a classifier."""

    labels: tuple[str, ...]
    model_id: str
    languages: tuple[str, ...]

    def covers(self, language: str) -> bool:
        """Whether passages in ``language`` are inside the classifier's scope."""
        ...

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify passage texts; ``languages`` gives each passage's language code.

        ``contexts`` (optional) is each passage's heading and list lead-in
        (:func:`cocreation_nlp.segment.passage_context`); models trained with context read it,
        the others ignore it.
        """
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
        base = language_code(lang)
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

    def covers(self, language: str) -> bool:
        """Whether a rule lexicon exists for ``language`` (``en_GB`` counts as ``en``)."""
        return language_code(language) in self.languages

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify ``texts`` with the lexicon of each passage's language (``contexts`` unused)."""
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


def predict_with_scope(
    model: PassageClassifier,
    texts: Sequence[str],
    languages: Sequence[str],
    probs_fn: Callable[[list[int], list], tuple[np.ndarray, np.ndarray]],
    *,
    out_of_scope: str = "rules",
) -> Predictions:
    """Scope handling shared by every learned classifier (linear, fine-tuned, cascade).

    Passages the model covers (its languages, non-empty text) are scored by
    ``probs_fn(indices, rule_hits) -> (probabilities, thresholds per row)``: each
    row is decided with the thresholds of the model that scored it (a cascade
    mixes two models' rows). Passages outside the model's languages get the rule
    lexicon's prediction when ``out_of_scope`` is ``"rules"`` and a lexicon exists,
    marked ``rule-only`` in their reason; otherwise no prediction, with the reason.
    """
    n = len(texts)
    hits = match_rules(texts, languages)
    probs = np.zeros((n, len(LABELS)))
    decisions = np.zeros((n, len(LABELS)), dtype=bool)
    in_scope = [False] * n
    reasons = [""] * n
    covered = [i for i in range(n) if model.covers(languages[i]) and texts[i].strip()]
    if covered:
        p, thr = probs_fn(covered, [hits[i] for i in covered])
        probs[covered] = p
        decisions[covered] = p >= thr
        for i in covered:
            in_scope[i] = True
    covered_set = set(covered)
    for i in range(n):
        if i in covered_set:
            continue
        if not texts[i].strip():
            reasons[i] = "empty text: no prediction"
            continue
        lang = languages[i] or "und"
        if out_of_scope == "rules" and hits[i] is not None:
            rp = rule_probabilities(hits[i])
            probs[i] = [rp[label] for label in LABELS]
            decisions[i] = probs[i] >= 0.5
            in_scope[i] = True
            reasons[i] = (
                f"rule-only: language '{lang}' is outside the model's languages ({', '.join(model.languages)})"
            )
        else:
            reasons[i] = (
                f"no prediction: language '{lang}' is outside the model's languages ({', '.join(model.languages)}) and has no rule lexicon"
            )
    evidence = [evidence_strings(h) if h is not None else {} for h in hits]
    return Predictions(LABELS, probs, decisions, evidence, in_scope, reasons, model.model_id)
