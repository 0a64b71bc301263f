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

    def predict_texts(
        self, texts: Sequence[str], languages: Sequence[str], contexts: Sequence[str] | None = None
    ) -> Predictions:
        """Classify passage texts; ``languages`` gives each passage's language code.

        ``contexts`` (optional) is each passage's heading and list lead-in
        (:func:`cocreation_nlp.finetuned.passage_context`); models trained with context use it.
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


def classify_table(
    input_path,
    output_path,
    *,
    model: str | None = None,
    text_column: str = "text",
    language_column: str = "language",
    batch_size: int = 512,
) -> dict:  # noqa: ANN001
    """Classify the passages of a CSV or JSONL file; write every input column plus predictions.

    For each label L the output has ``L_prob`` (0-1) and ``L`` (0/1, the
    tuned decision), then ``evidence`` (rule hits, JSON) and
    ``prediction_note`` (why a row has no or a rule-only prediction). Empty
    or non-text rows get an empty prediction with a reason; they never stop
    the file. Rows are processed in batches and written atomically.

    Returns:
        Counts: rows, predicted, empty, rule_only.
    """
    import json
    from pathlib import Path

    import pandas as pd

    from .atomic import atomic_path
    from .errors import InputError
    from .ingest import detect_language
    from .pipeline import default_model, load_classifier

    src = Path(input_path)
    if not src.exists():
        raise InputError(str(src), "file not found", kind="missing")
    suffix = src.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            df = pd.read_json(src, lines=True, dtype=False)
        elif suffix == ".csv":
            df = pd.read_csv(src, dtype=str, keep_default_na=False)
        else:
            raise InputError(
                str(src),
                f"unsupported input {suffix or '(no extension)'}: give a .csv or .jsonl file",
                kind="unsupported",
            )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(str(src), f"cannot read the table: {err}", kind="bad-table") from err
    if text_column not in df.columns:
        raise InputError(
            str(src),
            f"no column {text_column!r}; columns: {', '.join(map(str, df.columns))}. Use --text-column.",
            kind="bad-column",
        )
    clf = load_classifier(model or default_model())
    raw = df[text_column].tolist()
    texts = [t if isinstance(t, str) else "" for t in raw]
    notes = [
        ""
        if isinstance(t, str) and t.strip()
        else (
            "empty text"
            if isinstance(t, str) or t is None or (isinstance(t, float) and t != t)
            else f"not text ({type(t).__name__})"
        )
        for t in raw
    ]
    if language_column in df.columns:
        langs = [str(v) if isinstance(v, str) and v else "und" for v in df[language_column].tolist()]
    else:
        langs = [detect_language(t) if len(t.split()) >= 5 else "en" for t in texts]
    probs = np.full((len(df), len(LABELS)), np.nan)
    decisions = np.full((len(df), len(LABELS)), np.nan)
    evidence = [""] * len(df)
    contexts = None
    if "heading" in df.columns:
        from .finetuned import passage_context

        contexts = [passage_context(h if isinstance(h, str) else "") for h in df["heading"].tolist()]
    valid = [i for i, n in enumerate(notes) if not n]
    for start in range(0, len(valid), batch_size):
        idx = valid[start : start + batch_size]
        pred = clf.predict_texts(
            [texts[i] for i in idx],
            [langs[i] for i in idx],
            [contexts[i] for i in idx] if contexts is not None else None,
        )
        for k, i in enumerate(idx):
            if pred.in_scope[k]:
                probs[i] = pred.probs[k]
                decisions[i] = pred.decisions[k]
            notes[i] = pred.reasons[k] if pred.reasons else ""
            evidence[i] = json.dumps(pred.evidence[k], ensure_ascii=False) if pred.evidence[k] else ""
    out = df.copy()
    for j, label in enumerate(LABELS):
        out[f"{label}_prob"] = probs[:, j]
        out[label] = pd.array([None if np.isnan(v) else int(v) for v in decisions[:, j]], dtype="Int64")
    out["evidence"] = evidence
    out["prediction_note"] = notes
    dst = Path(output_path)
    with atomic_path(dst) as tmp:
        if dst.suffix.lower() in (".jsonl", ".ndjson"):
            out.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            out.to_csv(tmp, index=False, encoding="utf-8")
    return {
        "rows": len(df),
        "predicted": int((~np.isnan(probs[:, 0])).sum()),
        "empty": sum(1 for n in notes if n.startswith(("empty", "not text"))),
        "rule_only": sum(1 for n in notes if n.startswith("rule-only")),
        "model_id": clf.model_id,
    }
