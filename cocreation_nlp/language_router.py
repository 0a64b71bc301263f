"""A ``by-language`` model: each passage goes to its language's own model, every other one to a default model.

The English models (MiniLM and its static distillation) do not read French,
German, Spanish, Italian or Dutch, so passages in those languages get the rule
lexicon's predictions. ``cocreation train --method per-language``
(:mod:`cocreation_nlp.bylanguage`) fits a model per language and ships it only
where it beats the rules on grouped folds; the router folder it writes names
them::

    meta.json   kind "by-language", default (relative path), models {language: relative path},
                the per-language report, quantification parameters of the routed predictions
    oof.npz     the routed grouped out-of-fold predictions (numbers and ids, no text)
    fr/ ...     one single-model folder per shipped language

Loading goes through :data:`cocreation_nlp.model.LOADERS` like every other
kind; this module holds only the inference side (no training imports).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .classify import PassageClassifier, Predictions
from .codebook import LABELS
from .util import language_code

KIND = "by-language"


class LanguageRouter:
    """Send each passage to the model of its language, or to the default model."""

    def __init__(
        self,
        path: Path,
        meta: dict,
        default: PassageClassifier,
        models: Mapping[str, PassageClassifier],
    ) -> None:
        self.path = path
        self.meta = meta
        self.default = default
        self.models = dict(models)
        self.labels = LABELS
        self.model_id: str = meta["model_id"]
        self.languages = tuple(sorted(set(default.languages) | set(self.models)))
        self.out_of_scope = getattr(default, "out_of_scope", "rules")

    def covers(self, language: str) -> bool:
        """In scope where the default model or a language model is."""
        return language_code(language) in self.models or self.default.covers(language)

    def model_for(self, language: str) -> PassageClassifier:
        """The model that classifies passages in ``language``."""
        return self.models.get(language_code(language), self.default)

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify each passage with the model of its language, else the default model."""
        n = len(texts)
        groups: dict[str, list[int]] = {}
        for i, code in enumerate(languages):
            lang = language_code(code)
            groups.setdefault(lang if lang in self.models else "", []).append(i)
        probs = np.zeros((n, len(LABELS)))
        decisions = np.zeros((n, len(LABELS)), dtype=bool)
        evidence: list[dict] = [{} for _ in range(n)]
        in_scope = [False] * n
        reasons = [""] * n
        for lang, idx in groups.items():
            model = self.models.get(lang, self.default)
            pred = model.predict_texts(
                [texts[i] for i in idx],
                [languages[i] for i in idx],
                [contexts[i] for i in idx] if contexts is not None else None,
            )
            probs[idx] = pred.probs
            decisions[idx] = pred.decisions
            for k, i in enumerate(idx):
                evidence[i] = pred.evidence[k]
                in_scope[i] = pred.in_scope[k]
                reasons[i] = pred.reasons[k] if pred.reasons else ""
        return Predictions(LABELS, probs, decisions, evidence, in_scope, reasons, self.model_id)
