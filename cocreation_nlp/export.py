"""Stage 5: the analyst's tables. The only module that knows their columns.

* ``passages.csv``: one row per passage. :data:`PASSAGE_COLUMNS` is the one
  passage layout: ``parse`` writes exactly it, ``score`` adds the prediction
  columns (:data:`SCORED_PASSAGE_COLUMNS`), and ``classify`` adds the
  prediction columns to whatever table it was given.
* ``documents.csv``: one row per document, every score with its interval, the
  reason where undefined, the counts behind each ratio and how they were
  estimated (``count_method``).
* ``evidence.csv``: the passages that drive each score.
* ``errors.csv``: the documents that could not be read, and why (severity
  ``error``); then the page problems of documents that were kept (severity
  ``warning``, with the page: a scanned page OCR could not read or read with
  low confidence).

A score run's tables are committed as a set (:func:`write_run_tables`): they
are written into a staging folder, ``run.json`` is removed, the staged files
are moved into place, and ``run.json`` (written last, with each table's
SHA-256) marks a complete, consistent set. A crash at any point leaves either
the previous complete set or tables without ``run.json``, which the next run
rewrites instead of reusing. Parquet copies are written from the same rows
with declared column types (no type guessing from re-read CSV).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .atomic import atomic_open
from .classify import PassagePrediction
from .codebook import LABELS
from .score import FLAGS, SCORES
from .scored import ScoredDocument, ScoredPassage
from .tables import Column, CsvSink, ParquetSink, names
from .types import PageWarning, ParseFailure, Passage
from .util import file_sha256

# ----------------------------------------------------------------------------- the passage layout

_PASSAGE_ORDER: tuple[str, ...] = (
    "doc_id",
    "passage_id",
    "index",
    "page",
    "heading",
    "kind",
    "start_char",
    "end_char",
    "n_words",
    "n_sentences",
    "fingerprint",
    "language",
    "context",
)
"""Preferred order of the :class:`~cocreation_nlp.types.Passage` fields; ``text`` always comes last."""

_KINDS: dict[str, str] = {
    "str": "str",
    "int": "int",
    "int | None": "int",
    "float": "float",
    "float | None": "float",
    "bool": "bool",
    "PassageKind": "str",
    "TextSource": "str",
    "str | None": "str",
}


def _passage_columns() -> tuple[Column, ...]:
    """The passage layout, derived from the :class:`~cocreation_nlp.types.Passage` record.

    A field added to ``Passage`` becomes a column of every passage table
    (before ``text``) without touching this module; list it in
    ``_PASSAGE_ORDER`` to place it elsewhere.
    """
    by_name = {f.name: f for f in fields(Passage)}
    order = [n for n in _PASSAGE_ORDER if n in by_name]
    order += [n for n in by_name if n not in order and n != "text"]
    order.append("text")
    out = []
    for n in order:
        annotation = str(by_name[n].type)
        if annotation not in _KINDS:
            raise TypeError(
                f"Passage.{n}: no table type for annotation {annotation!r}; add it to export._KINDS"
            )
        out.append(Column(n, _KINDS[annotation]))  # type: ignore[arg-type]
    return tuple(out)


PASSAGE_COLUMNS: tuple[Column, ...] = _passage_columns()
"""The one passage layout (``cocreation parse``; the first columns of ``score``'s passages.csv)."""

PREDICTION_COLUMNS: tuple[Column, ...] = (
    *(c for label in LABELS for c in (Column(f"{label}_prob", "float"), Column(label, "int"))),
    Column("evidence", "str"),
)
"""What a classifier adds to a passage row: ``L_prob`` and ``L`` (0/1) per label, then the rule evidence."""

SCOPE_COLUMNS: tuple[Column, ...] = (Column("in_scope", "bool"), Column("scope_reason", "str"))
SCORED_PASSAGE_COLUMNS: tuple[Column, ...] = (*PASSAGE_COLUMNS, *SCOPE_COLUMNS, *PREDICTION_COLUMNS)
"""passages.csv of ``cocreation score``: the passage layout, then scope and prediction columns."""


def passage_row(p: Passage) -> dict[str, Any]:
    """One row of the passage layout (``page`` is empty where the format has no pages)."""
    return {c.name: getattr(p, c.name) for c in PASSAGE_COLUMNS}


def prediction_cells(pred: PassagePrediction) -> dict[str, Any]:
    """The prediction columns of one passage; empty where it has no prediction."""
    row: dict[str, Any] = {}
    for j, label in enumerate(LABELS):
        row[f"{label}_prob"] = None if pred.probs is None else pred.probs[j]
        row[label] = None if pred.decisions is None else int(pred.decisions[j])
    row["evidence"] = (
        json.dumps({k: list(v) for k, v in pred.evidence.items()}, ensure_ascii=False)
        if pred.evidence
        else ""
    )
    return row


def scored_passage_row(sp: ScoredPassage) -> dict[str, Any]:
    """One row of ``score``'s passages.csv."""
    return {
        **passage_row(sp.passage),
        "in_scope": sp.prediction.in_scope,
        "scope_reason": sp.prediction.reason,
        **prediction_cells(sp.prediction),
    }


# ----------------------------------------------------------------------------- documents, evidence, errors

META_COLUMNS: tuple[str, ...] = ("file", "title", "publisher", "country", "year", "doc_type")
_COUNT_COLUMNS: tuple[str, ...] = (
    *[f"n_{label}" for label in LABELS],
    "n_individual_or_collective",
    "n_individual_or_collective_or_cocreation",
    "n_individual_or_collective_or_cocreation_or_consultation",
    "n_consultation_or_cocreation",
)
DOCUMENT_COLUMNS: tuple[Column, ...] = (
    Column("doc_id"),
    *(Column(c) for c in META_COLUMNS),
    Column("manifest_language"),
    Column("format"),
    Column("language"),
    Column("model_covers_language", "bool"),
    Column("n_pages", "int"),
    Column("n_passages", "int"),
    Column("n_scored", "int"),
    *(
        c
        for s in SCORES
        for c in (
            Column(s, "float"),
            Column(f"{s}_low", "float"),
            Column(f"{s}_high", "float"),
            Column(f"{s}_reason"),
        )
    ),
    *(Column(f, "int") for f in FLAGS),
    *(Column(c, "float") for c in _COUNT_COLUMNS),
    Column("count_method"),
    Column("content_sha256"),
    Column("model_id"),
)
EVIDENCE_COLUMNS: tuple[Column, ...] = (
    Column("doc_id"),
    Column("score"),
    Column("role"),
    Column("rank", "int"),
    Column("passage_id"),
    Column("page", "int"),
    Column("heading"),
    Column("probability", "float"),
    Column("text"),
)
ERROR_COLUMNS: tuple[Column, ...] = (
    Column("doc_id"),
    Column("source"),
    Column("error_type"),
    Column("message"),
    Column("severity"),
    Column("page", "int"),
)
"""errors.csv: one ``error`` row per document that could not be read; one ``warning`` row per page
problem of a document that was read and kept (``page`` set: an unreadable, skipped or low-confidence
scanned page)."""


def extra_meta_columns(metas: Iterable[Mapping[str, str]]) -> list[str]:
    """Manifest columns beyond the standard ones (a corpus's own split, licence, region ...), in manifest order."""
    known = set(names(DOCUMENT_COLUMNS)) | {"language"}
    seen: dict[str, None] = {}
    for meta in metas:
        for key in meta:
            if key not in known:
                seen.setdefault(key, None)
    return list(seen)


def document_columns(extra: Sequence[str] = ()) -> tuple[Column, ...]:
    """documents.csv columns: the fixed ones, with any extra manifest columns after the standard metadata."""
    cols = list(DOCUMENT_COLUMNS)
    at = names(cols).index("manifest_language")
    return (*cols[:at], *(Column(e) for e in extra), *cols[at:])


def document_row(doc: ScoredDocument, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One documents.csv row."""
    meta = doc.meta
    s = doc.scores
    row: dict[str, Any] = {"doc_id": doc.doc_id}
    for col in (*META_COLUMNS, *extra):
        row[col] = meta.get(col, "")
    row["manifest_language"] = meta.get("language", "")
    row["format"] = doc.format
    row["language"] = doc.language
    row["model_covers_language"] = doc.model_covers_language
    row["n_pages"] = doc.n_pages
    row["n_passages"] = s.n_passages
    row["n_scored"] = s.n_scored
    for name in SCORES:
        row[name] = s.values[name]
        row[f"{name}_low"] = s.low[name]
        row[f"{name}_high"] = s.high[name]
        row[f"{name}_reason"] = s.reasons.get(name, "")
    for flag in FLAGS:
        v = s.flags[flag]
        row[flag] = None if v is None else int(v)
    for key, value in s.counts.items():
        if key in _COUNT_COLUMNS:
            row[key] = value
    row["count_method"] = s.count_method
    row["content_sha256"] = doc.content_sha256
    row["model_id"] = doc.model_id
    return row


def evidence_rows(doc: ScoredDocument) -> Iterator[dict[str, Any]]:
    """The evidence passages of each score, with page and heading for the reader to check."""
    for ev in doc.scores.evidence:
        p = doc.passages[ev.passage_index].passage
        yield {
            "doc_id": doc.doc_id,
            "score": ev.score,
            "role": ev.role,
            "rank": ev.rank,
            "passage_id": p.passage_id,
            "page": p.page,
            "heading": p.heading,
            "probability": ev.probability,
            "text": p.text,
        }


def error_row(f: ParseFailure) -> dict[str, Any]:
    """One errors.csv row of a document that could not be read."""
    return {
        "doc_id": f.doc_id,
        "source": f.source,
        "error_type": f.error_type,
        "message": f.message,
        "severity": "error",
        "page": None,
    }


def warning_rows(doc_id: str, source: str, warnings: Iterable[PageWarning]) -> Iterator[dict[str, Any]]:
    """errors.csv rows of severity ``warning``: the page problems of a document that was kept."""
    for w in warnings:
        yield {
            "doc_id": doc_id,
            "source": source,
            "error_type": w.kind,
            "message": w.message,
            "severity": "warning",
            "page": w.page,
        }


# ----------------------------------------------------------------------------- writing a run's tables

RUN_TABLES: tuple[str, ...] = ("passages", "documents", "evidence", "errors")
STAGING_PREFIX = ".staging-"
RUN_RECORD = "run.json"


@dataclass(frozen=True, slots=True)
class TableSet:
    """What :func:`write_run_tables` wrote: file name -> SHA-256, and the number of passages."""

    checksums: Mapping[str, str]
    n_passages: int


class _Table:
    """One table of a run: a CSV and, on request, its Parquet copy, fed the same rows."""

    def __init__(
        self, folder: Path, name: str, columns: Sequence[Column], parquet: bool, *, raw_csv: bool = False
    ) -> None:
        self._fh = (folder / f"{name}.csv").open("w", encoding="utf-8", newline="")
        self.csv = CsvSink(self._fh, names(columns), raw=raw_csv)
        self.parquet = ParquetSink(folder / f"{name}.parquet", columns) if parquet else None

    def write(self, row: Mapping[str, Any]) -> None:
        self.csv.write(row)
        if self.parquet is not None:
            self.parquet.write(row)

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        if self.parquet is not None:
            self.parquet.close()


def table_files(formats: Sequence[str]) -> list[str]:
    """The file names of a run's tables for ``formats`` (``csv`` always, ``parquet`` on request)."""
    suffixes = ["csv", *(["parquet"] if "parquet" in formats else [])]
    return [f"{t}.{s}" for t in RUN_TABLES for s in suffixes]


def write_run_tables(
    out_dir: Path,
    documents: Iterable[ScoredDocument],
    failures: Iterable[ParseFailure],
    *,
    extra_columns: Sequence[str] = (),
    formats: Sequence[str] = ("csv",),
    raw_csv: bool = False,
) -> TableSet:
    """Write every table of a score run as one set; return their checksums and the passage count.

    The CSVs neutralise cells a spreadsheet would run as formulas (see
    :mod:`.tables`) unless ``raw_csv``; the Parquet copies keep text exactly.

    ``documents`` is consumed once, in the order given, one record at a time,
    so a 10,000-document corpus streams through. See the module docstring
    for how the set is committed. Parquet copies of an earlier run are
    removed when this run writes none, so no table of another run is left
    beside this one's.
    """
    staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    parquet = "parquet" in formats
    n_passages = 0
    try:
        tables = {
            "passages": _Table(staging, "passages", SCORED_PASSAGE_COLUMNS, parquet, raw_csv=raw_csv),
            "documents": _Table(
                staging, "documents", document_columns(extra_columns), parquet, raw_csv=raw_csv
            ),
            "evidence": _Table(staging, "evidence", EVIDENCE_COLUMNS, parquet, raw_csv=raw_csv),
            "errors": _Table(staging, "errors", ERROR_COLUMNS, parquet, raw_csv=raw_csv),
        }
        warnings: list[
            dict[str, Any]
        ] = []  # a few rows per scanned document: kept until the failures are written
        try:
            for doc in documents:
                for sp in doc.passages:
                    tables["passages"].write(scored_passage_row(sp))
                    n_passages += 1
                tables["documents"].write(document_row(doc, extra_columns))
                for row in evidence_rows(doc):
                    tables["evidence"].write(row)
                warnings.extend(warning_rows(doc.doc_id, doc.source, doc.warnings))
            for f in failures:
                tables["errors"].write(error_row(f))
            for row in warnings:
                tables["errors"].write(row)
        finally:
            for t in tables.values():
                t.close()
        files = table_files(formats)
        checksums = {name: file_sha256(staging / name) for name in files}
        # From here to the new run.json the folder holds no completion marker.
        (out_dir / RUN_RECORD).unlink(missing_ok=True)
        for name in files:
            os.replace(staging / name, out_dir / name)
        if not parquet:
            for t in RUN_TABLES:
                (out_dir / f"{t}.parquet").unlink(missing_ok=True)
        _fsync_dir(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TableSet(checksums, n_passages)


def tables_intact(out_dir: Path, checksums: Mapping[str, str]) -> bool:
    """Whether every table recorded in a run record is on disk with the recorded checksum."""
    if not checksums:
        return False
    for name, digest in checksums.items():
        try:
            if file_sha256(out_dir / name) != digest:
                return False
        except OSError:
            return False
    return True


def sweep_temporary(out_dir: Path) -> int:
    """Remove what a crashed run left behind: staging folders and half-written temporary files.

    Only names this toolkit makes are touched: ``.staging-*`` folders and
    ``.<name>.*.tmp`` files (see :func:`~cocreation_nlp.atomic.atomic_path`)
    in ``out_dir`` and its cache. Returns the number removed.
    """
    n = 0
    if not out_dir.is_dir():
        return 0
    for path in out_dir.glob(f"{STAGING_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            n += 1
    for folder in (out_dir, out_dir / ".cache"):
        if folder.is_dir():
            for path in folder.rglob(".*.tmp"):
                if path.is_file():
                    path.unlink(missing_ok=True)
                    n += 1
    return n


def write_run_record(out_dir: Path, info: Mapping[str, Any]) -> None:
    """Write ``run.json`` last: its presence marks a complete, consistent set of tables."""
    with atomic_open(out_dir / RUN_RECORD, newline=None) as fh:
        json.dump(info, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
