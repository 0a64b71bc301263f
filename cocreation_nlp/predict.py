"""``cocreation classify``: classify texts, or the passages of a CSV/JSONL table.

The classifier core (:mod:`.classify`, :mod:`.model`) takes lists of texts;
this module does the rest: choosing the model, detecting languages where the
input gives none, turning empty or non-text rows into a prediction with a
reason instead of an error, and reading and writing tables. Output columns
come from :mod:`.export` (:data:`~cocreation_nlp.export.PREDICTION_COLUMNS`),
so a ``classify`` table has the same prediction columns as ``score``'s
passages.csv.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_open
from .classify import PassagePrediction
from .errors import InputError
from .export import PREDICTION_COLUMNS, prediction_cells
from .formulas import restore
from .ingest import detect_language
from .model import default_model, load_classifier
from .segment import passage_context
from .tables import names, read_rows, write_csv
from .types import PASSAGE_KINDS, is_labelling_unit, not_a_unit_reason

NOTE_COLUMN = "prediction_note"
"""The column ``classify`` adds after the predictions: why a row has no or a rule-only prediction."""


def _empty_reason(value: Any) -> str:
    """Why ``value`` cannot be classified (``""`` when it can)."""
    if isinstance(value, str):
        return "" if value.strip() else "empty text"
    if value is None or (isinstance(value, float) and value != value):
        return "empty text"
    return f"not text ({type(value).__name__})"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _language(text: str) -> str:
    # Detection needs a few words; a short passage is taken as English, the model's language.
    return detect_language(text) if len(text.split()) >= 5 else "en"


def predict(
    texts: Sequence[Any],
    *,
    model: str | os.PathLike[str] | None = None,
    languages: Sequence[Any] | None = None,
    kinds: Sequence[Any] | None = None,
    contexts: Sequence[Any] | None = None,
    batch_size: int = 512,
) -> tuple[list[PassagePrediction], str]:
    """Classify ``texts``; return one prediction per item (in order) and the model id.

    Items that are not text, or are empty, get a prediction with no
    probabilities and the reason (``empty text``, ``not text (int)``). Without
    ``languages``, each text's language is detected. With ``kinds`` (the
    ``kind`` column of a passages table), headings and tables are left
    unclassified with the reason: the codebook gives them no label.
    ``contexts`` (each passage's heading and list lead-in,
    :func:`~cocreation_nlp.segment.passage_context`) is read by models
    trained with context and ignored by the others.
    """
    clf = load_classifier(str(model) if model is not None else default_model())
    out: list[PassagePrediction] = [PassagePrediction(None, None, reason=_empty_reason(t)) for t in texts]
    if kinds is not None:
        for i, kind in enumerate(kinds):
            if not out[i].reason and kind in PASSAGE_KINDS and not is_labelling_unit(kind):
                out[i] = PassagePrediction(None, None, reason=not_a_unit_reason(kind))
    valid = [i for i, p in enumerate(out) if not p.reason]
    langs = (
        [str(v) if isinstance(v, str) and v else "und" for v in languages]
        if languages is not None
        else [_language(t) if isinstance(t, str) else "und" for t in texts]
    )
    ctx = [c if isinstance(c, str) else "" for c in contexts] if contexts is not None else None
    for start in range(0, len(valid), batch_size):
        idx = valid[start : start + batch_size]
        pred = clf.predict_texts(
            [texts[i] for i in idx],
            [langs[i] for i in idx],
            [ctx[i] for i in idx] if ctx is not None else None,
        )
        for i, record in zip(idx, pred.records(), strict=True):
            out[i] = record
    return out, str(clf.model_id)


@dataclass(frozen=True, slots=True)
class ClassifySummary:
    """Counts of a ``classify`` run, for the CLI's closing line."""

    rows: int
    predicted: int
    empty: int
    rule_only: int
    model_id: str


def classify_table(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    text_column: str = "text",
    language_column: str = "language",
    batch_size: int = 512,
    raw_csv: bool = False,
) -> ClassifySummary:
    """Classify the passages of a CSV or JSONL file; write every input column plus predictions.

    For each label L the output has ``L_prob`` (0-1) and ``L`` (0/1, the
    tuned decision), then ``evidence`` (rule hits, JSON) and
    ``prediction_note`` (why a row has no or a rule-only prediction). Empty
    or non-text rows get an empty prediction with a reason; they never stop
    the file. A ``heading`` (and ``context``) column, as in ``score``'s
    passages.csv, gives models trained with context the same input as
    ``score`` does. The output (``.csv``, or ``.jsonl``) is written atomically; in
    CSV, text a spreadsheet would run as a formula is neutralised (see
    :mod:`.tables`) unless ``raw_csv``, and JSONL keeps it exactly.

    Raises:
        InputError: for a missing or unreadable file, or a missing text column.
    """
    src = Path(input_path)
    if not src.exists():
        raise InputError(str(src), "file not found", kind="missing")
    rows = list(read_rows(src))
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    if not rows and src.suffix.lower() == ".csv":
        import csv

        with src.open(newline="", encoding="utf-8-sig") as fh:
            columns = dict.fromkeys(restore(c) for c in next(csv.reader(fh), []))
    if text_column not in columns:
        raise InputError(
            str(src),
            f"no column {text_column!r}; columns: {', '.join(map(str, columns))}. Use --text-column.",
            kind="bad-column",
        )
    languages = None
    if language_column in columns:
        languages = [r.get(language_column) for r in rows]
    kinds = [r.get("kind") for r in rows] if "kind" in columns else None
    contexts = None
    if "heading" in columns or "context" in columns:
        # A passages table from `score` or `parse`: the model gets the context `score` gives it.
        contexts = [passage_context(_str(r.get("heading")), _str(r.get("context"))) for r in rows]
    preds, model_id = predict(
        [r.get(text_column) for r in rows],
        model=model,
        languages=languages,
        kinds=kinds,
        contexts=contexts,
        batch_size=batch_size,
    )
    out_columns = [*columns, *names(PREDICTION_COLUMNS), NOTE_COLUMN]
    out_rows = [{**r, **prediction_cells(p), NOTE_COLUMN: p.reason} for r, p in zip(rows, preds, strict=True)]
    dst = Path(output_path)
    if dst.suffix.lower() in (".jsonl", ".ndjson"):
        with atomic_open(dst) as fh:
            for r in out_rows:
                fh.write(json.dumps({c: r.get(c) for c in out_columns}, ensure_ascii=False) + "\n")
    else:
        write_csv(dst, out_columns, out_rows, raw=raw_csv)
    notes = [p.reason for p in preds]
    return ClassifySummary(
        rows=len(rows),
        predicted=sum(1 for p in preds if p.in_scope),
        empty=sum(1 for n in notes if n.startswith(("empty", "not text"))),
        rule_only=sum(1 for n in notes if n.startswith("rule-only")),
        model_id=model_id,
    )
