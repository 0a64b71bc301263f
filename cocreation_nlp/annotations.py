"""Annotated passages for training and evaluation, resolved against the corpus at run time.

The project's annotations are standoff records (doc_id, passage fingerprint,
offsets, labels, annotator, time, codebook version): the passage text of
corpora we do not own is never stored. :func:`resolve_records` parses the
documents once, finds each record's passage by fingerprint (falling back to
the offsets), and reports every record whose passage no longer matches,
instead of dropping it silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .annotate.records import AnnotationRecord, read_records
from .codebook import LABELS
from .errors import AnnotationError
from .ingest import Source, discover, read_one
from .segment import passage_context, segment_document
from .types import ParseFailure, Passage, fingerprint, is_labelling_unit

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LabelledSet:
    """Resolved training/evaluation data: one row per passage."""

    passage_ids: list[str]
    doc_ids: list[str]
    texts: list[str]
    languages: list[str]
    y: np.ndarray  # (n, 7) int
    stale: list[tuple[AnnotationRecord, str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # Heading and list lead-in of each passage (``segment.passage_context``); "" when unknown.
    contexts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> dict[str, int]:
        """Positive passages per label."""
        return {label: int(self.y[:, i].sum()) for i, label in enumerate(LABELS)}

    def fingerprint(self) -> str:
        """A hash of the texts and labels: identifies the training data in a model card."""
        import hashlib

        h = hashlib.sha256()
        for pid, text, row in sorted(zip(self.passage_ids, self.texts, self.y.tolist(), strict=True)):
            h.update(f"{pid}\t{fingerprint(text)}\t{row}\n".encode())
        return h.hexdigest()


def load_records(paths: Iterable[str | Path]) -> list[AnnotationRecord]:
    """Read annotation files (JSONL, CSV or Label Studio JSON; folders are searched for *.jsonl)."""
    records: list[AnnotationRecord] = []
    for raw in paths:
        path = Path(raw)
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        if not files:
            raise AnnotationError(f"{path}: no annotation files (*.jsonl) here")
        for f in files:
            if not f.exists():
                raise AnnotationError(f"{f}: file not found")
            records.extend(read_records(f))
    return records


def final_decisions(records: Sequence[AnnotationRecord]) -> list[AnnotationRecord]:
    """One decision per passage: a gold (adjudicated) record wins, else the latest decision.

    Skipped records carry no decision and are left out.
    """
    best: dict[tuple[str, str], AnnotationRecord] = {}
    for r in records:
        if r.skipped:
            continue
        key = (r.doc_id, r.passage_id)
        cur = best.get(key)
        if cur is None or (r.gold, r.created_at) > (cur.gold, cur.created_at):
            best[key] = r
    return list(best.values())


def _corpus_sources(corpus: Sequence[str | Path] | None) -> dict[str, Source]:
    if not corpus:
        return {}
    return {s.doc_id: s for s in discover(corpus)}


def resolve_records(
    records: Sequence[AnnotationRecord], corpus: Sequence[str | Path] | None = None
) -> LabelledSet:
    """Turn final decisions into a :class:`LabelledSet`, looking passage texts up in ``corpus``.

    Records that carry their own ``text`` (exports of passages loaded from a
    CSV) need no corpus. Others are matched by fingerprint among the passages
    of their document, then by offsets; a record whose passage cannot be found
    (document missing, passage re-segmented) is listed in ``stale``.
    """
    decisions = final_decisions(records)
    sources = _corpus_sources(corpus)
    by_doc: dict[str, list[AnnotationRecord]] = {}
    out = LabelledSet([], [], [], [], np.zeros((0, len(LABELS)), dtype=int))
    rows: list[list[int]] = []

    def add(r: AnnotationRecord, text: str, language: str, context: str = "") -> None:
        out.passage_ids.append(r.passage_id)
        out.contexts.append(context)
        out.doc_ids.append(r.doc_id)
        out.texts.append(text)
        out.languages.append(language)
        rows.append([int(label in r.labels) for label in LABELS])

    for r in decisions:
        if r.text is not None:
            add(r, r.text, "und")
        else:
            by_doc.setdefault(r.doc_id, []).append(r)
    for doc_id, recs in sorted(by_doc.items()):
        src = sources.get(doc_id)
        if src is None:
            out.stale.extend((r, f"document {doc_id!r} is not in the corpus given") for r in recs)
            continue
        doc = read_one(src)
        if isinstance(doc, ParseFailure):
            out.stale.extend((r, f"document {doc_id!r} failed to parse: {doc.message}") for r in recs)
            continue
        # Only labelling units: a record whose text is now a heading or a table is not training data.
        segmented = segment_document(doc)
        passages = [p for p in segmented if is_labelling_unit(p.kind)]
        others = [p for p in segmented if not is_labelling_unit(p.kind)]
        by_fp: dict[str, list] = {}
        for p in passages:
            by_fp.setdefault(p.fingerprint, []).append(p)
        matched: dict[int, Passage] = {}
        for k, r in enumerate(recs):
            cands = by_fp.get(r.fingerprint, [])
            if cands:
                matched[k] = min(cands, key=lambda p: abs(p.start_char - (r.start_char or 0)))
        labelled_units = list(matched.values())
        for k, r in enumerate(recs):
            if k in matched:
                p = matched[k]
                add(r, p.text, doc.language, passage_context(p.heading, p.context))
                continue
            if (
                r.start_char is not None
                and r.end_char is not None
                and fingerprint(doc.text[r.start_char : r.end_char]) == r.fingerprint
            ):
                why = _fallback_conflict(r.start_char, r.end_char, labelled_units, others)
                if why:
                    out.stale.append((r, why))
                else:
                    add(r, doc.text[r.start_char : r.end_char], doc.language)
                continue
            out.stale.append((r, "passage text changed (fingerprint not found in the re-parsed document)"))
    out.y = np.asarray(rows, dtype=int).reshape(-1, len(LABELS))
    for r, why in out.stale:
        log.debug("stale annotation %s (%s): %s", r.passage_id, r.annotator, why)
    if out.stale:
        log.warning("%s", stale_summary(out.stale))
    return out


def _fallback_conflict(
    start: int, end: int, labelled_units: Sequence[Passage], others: Sequence[Passage]
) -> str:
    """Why a record found only by its offsets must not be used, or ``""`` when it may.

    The offsets still point at the labelled text, but the text is no longer a passage of its own.
    Inside a passage that carries its own decision, the text would enter training twice (once
    alone, once inside the larger passage, perhaps with other labels): the larger passage's
    decision supersedes it. Inside a heading or a table, the codebook gives it no label.
    """
    for p in labelled_units:
        if p.start_char <= start and end <= p.end_char:
            return f"superseded (its text is now part of passage {p.passage_id}, which has its own labels)"
    for p in others:
        if p.start_char < end and start < p.end_char:
            return f"text is now a {p.kind} (not a labelling unit)"
    return ""


def stale_summary(stale: Sequence[tuple[AnnotationRecord, str]]) -> str:
    """One line on the records that no longer resolve, by reason (details are logged at DEBUG level).

    After a change of segmentation most stale records are superseded: their text now sits in a
    larger passage that was labelled again (see ``annotations/README.md``). Listing thousands of
    them one per line would bury every other message.

    Example:
        >>> from cocreation_nlp.annotate.records import AnnotationRecord
        >>> r = AnnotationRecord(doc_id="d", passage_id="d:1", fingerprint="f", labels=[], annotator="a",
        ...                      created_at="2026-01-01T00:00:00Z", codebook_version="1.1")
        >>> stale_summary([(r, "passage text changed"), (r, "passage text changed")])
        '2 annotation records did not resolve (not used): 2 passage text changed'
    """
    from collections import Counter

    by_why = Counter(why.split(" (")[0] for _, why in stale)
    parts = ", ".join(f"{n} {why}" for why, n in by_why.most_common())
    return f"{len(stale)} annotation records did not resolve (not used): {parts}"


def default_corpus() -> list[Path]:
    """Where standoff annotations are resolved when no corpus is given.

    ``$COCREATION_CORPUS`` (paths separated by ``os.pathsep``) if set, else
    every corpus shipped in the repository's ``corpora/`` folder (each
    ``corpora/<name>/manifest.csv``, the sample corpus excepted), which is
    where the project's own annotations point. A clone therefore needs
    nothing outside the repository to retrain the shipped models.
    """
    import os

    env = os.environ.get("COCREATION_CORPUS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    root = Path(__file__).resolve().parents[1] / "corpora"
    return sorted(m for m in root.glob("*/manifest.csv") if m.parent.name != "sample")
