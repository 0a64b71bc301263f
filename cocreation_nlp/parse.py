"""``cocreation parse``: ingest and segment a corpus into a passages table plus an errors table.

The columns are :mod:`.export`'s passage layout, the same that ``score``'s
passages.csv starts with.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_open
from .errors import InputError
from .export import ERROR_COLUMNS, PASSAGE_COLUMNS, error_row, passage_row, warning_rows
from .ingest import DEFAULT_MAX_BYTES, Source, discover, read_one
from .limits import DEFAULT_LIMITS, ReadLimits, check_passage_count
from .segment import segment_document
from .tables import CsvSink, names, write_csv
from .types import Document, PageWarning, ParseFailure


@dataclass(slots=True)
class ParseSummary:
    """Counts of a parse run, for the CLI's closing line and for tests."""

    n_documents: int = 0
    n_passages: int = 0
    failures: list[ParseFailure] = field(default_factory=list)
    warnings: list[tuple[str, str, PageWarning]] = field(default_factory=list)  # (doc_id, source, warning)
    ocr_pages: int = 0


def write_errors(
    path: Path,
    failures: Iterable[ParseFailure],
    warnings: Iterable[tuple[str, str, PageWarning]] = (),
    *,
    raw_csv: bool = False,
) -> None:
    """Write errors.csv atomically (a header-only file when nothing failed, so its absence means no run).

    Rows of failed documents (severity ``error``) come first, then the page
    warnings of documents that were kept (severity ``warning``).
    """
    rows = itertools.chain(
        (error_row(f) for f in failures),
        (row for doc_id, source, w in warnings for row in warning_rows(doc_id, source, [w])),
    )
    write_csv(path, names(ERROR_COLUMNS), rows, raw=raw_csv)


def parse_to_csv(
    paths: Iterable[str | Path],
    output: Path,
    *,
    errors_path: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_document: Callable[[Document | ParseFailure], None] | None = None,
    sources: list[Source] | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    allow_outside: bool = False,
    raw_csv: bool = False,
    ocr: str = "auto",
) -> ParseSummary:
    """Parse every document under ``paths`` and stream its passages into ``output`` (CSV).

    The CSV is written to a temporary file and moved into place at the end, so
    an interrupted run leaves any earlier ``output`` untouched. Failures go to
    ``errors_path`` (default: ``errors.csv`` beside ``output``). ``limits``
    caps each document's unpacked size and passages; ``allow_outside`` lets
    manifests and links lead out of the corpus folder. Text a spreadsheet would
    run as a formula is neutralised in the CSVs (see :mod:`.tables`) unless ``raw_csv``.
    ``ocr`` (``auto``, ``never``, ``always``) says which PDF pages are read by
    OCR; page warnings of the documents kept (an unreadable or low-confidence
    scanned page) are rows of severity ``warning`` in the errors file.
    """
    summary = ParseSummary()
    srcs = sources if sources is not None else discover(paths, allow_outside=allow_outside)
    with atomic_open(output) as fh:
        sink = CsvSink(fh, names(PASSAGE_COLUMNS), raw=raw_csv)
        for src in srcs:
            doc = read_one(src, max_bytes=max_bytes, limits=limits, ocr=ocr)
            if isinstance(doc, Document):
                passages = segment_document(doc)
                try:
                    check_passage_count(doc.source, len(passages), limits)
                except InputError as err:
                    doc = ParseFailure(doc.source, doc.doc_id, err.kind, err.cause)
            if on_document is not None:
                on_document(doc)
            if isinstance(doc, ParseFailure):
                summary.failures.append(doc)
                continue
            summary.n_documents += 1
            summary.ocr_pages += doc.ocr_pages
            summary.warnings.extend((doc.doc_id, doc.source, w) for w in doc.warnings)
            for p in passages:
                sink.write(passage_row(p))
                summary.n_passages += 1
    write_errors(
        errors_path or output.with_name("errors.csv"), summary.failures, summary.warnings, raw_csv=raw_csv
    )
    return summary
