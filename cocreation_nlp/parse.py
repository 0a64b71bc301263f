"""``cocreation parse``: ingest and segment a corpus into a passages table plus an errors table.

The columns are :mod:`.export`'s passage layout, the same that ``score``'s
passages.csv starts with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_open
from .errors import InputError
from .export import ERROR_COLUMNS, PASSAGE_COLUMNS, error_row, passage_row
from .ingest import DEFAULT_MAX_BYTES, Source, discover, read_one
from .limits import DEFAULT_LIMITS, ReadLimits, check_passage_count
from .segment import segment_document
from .tables import CsvSink, names, write_csv
from .types import Document, ParseFailure


@dataclass(slots=True)
class ParseSummary:
    """Counts of a parse run, for the CLI's closing line and for tests."""

    n_documents: int = 0
    n_passages: int = 0
    failures: list[ParseFailure] = field(default_factory=list)


def write_errors(path: Path, failures: Iterable[ParseFailure], *, raw_csv: bool = False) -> None:
    """Write errors.csv atomically (a header-only file when nothing failed, so its absence means no run)."""
    write_csv(path, names(ERROR_COLUMNS), (error_row(f) for f in failures), raw=raw_csv)


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
) -> ParseSummary:
    """Parse every document under ``paths`` and stream its passages into ``output`` (CSV).

    The CSV is written to a temporary file and moved into place at the end, so
    an interrupted run leaves any earlier ``output`` untouched. Failures go to
    ``errors_path`` (default: ``errors.csv`` beside ``output``). ``limits``
    caps each document's unpacked size and passages; ``allow_outside`` lets
    manifests and links lead out of the corpus folder. Text a spreadsheet would
    run as a formula is neutralised in the CSVs (see :mod:`.tables`) unless ``raw_csv``.
    """
    summary = ParseSummary()
    srcs = sources if sources is not None else discover(paths, allow_outside=allow_outside)
    with atomic_open(output) as fh:
        sink = CsvSink(fh, names(PASSAGE_COLUMNS), raw=raw_csv)
        for src in srcs:
            doc = read_one(src, max_bytes=max_bytes, limits=limits)
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
            for p in passages:
                sink.write(passage_row(p))
                summary.n_passages += 1
    write_errors(errors_path or output.with_name("errors.csv"), summary.failures, raw_csv=raw_csv)
    return summary
