"""``cocreation parse``: ingest and segment a corpus into a passages table plus an errors table."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_open
from .ingest import DEFAULT_MAX_BYTES, Source, discover, read_one
from .segment import segment_document
from .types import Document, ParseFailure, Passage

PASSAGE_COLUMNS: tuple[str, ...] = (
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
    "text",
)
ERROR_COLUMNS: tuple[str, ...] = ("doc_id", "source", "error_type", "message")


@dataclass(slots=True)
class ParseSummary:
    """Counts of a parse run, for the CLI's closing line and for tests."""

    n_documents: int = 0
    n_passages: int = 0
    failures: list[ParseFailure] = field(default_factory=list)


def passage_row(p: Passage) -> dict[str, object]:
    """One passages.csv row; ``page`` is empty where the format has no pages."""
    return {
        "doc_id": p.doc_id,
        "passage_id": p.passage_id,
        "index": p.index,
        "page": "" if p.page is None else p.page,
        "heading": p.heading,
        "kind": p.kind,
        "start_char": p.start_char,
        "end_char": p.end_char,
        "n_words": p.n_words,
        "n_sentences": p.n_sentences,
        "fingerprint": p.fingerprint,
        "language": p.language,
        "context": p.context,
        "text": p.text,
    }


def write_errors(path: Path, failures: Iterable[ParseFailure]) -> None:
    """Write errors.csv atomically (a header-only file when nothing failed, so its absence means no run)."""
    with atomic_open(path) as fh:
        writer = csv.DictWriter(fh, fieldnames=ERROR_COLUMNS)
        writer.writeheader()
        for f in failures:
            writer.writerow(
                {"doc_id": f.doc_id, "source": f.source, "error_type": f.error_type, "message": f.message}
            )


def parse_to_csv(
    paths: Iterable[str | Path],
    output: Path,
    *,
    errors_path: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_document: Callable[[Document | ParseFailure], None] | None = None,
    sources: list[Source] | None = None,
) -> ParseSummary:
    """Parse every document under ``paths`` and stream its passages into ``output`` (CSV).

    The CSV is written to a temporary file and moved into place at the end, so
    an interrupted run leaves any earlier ``output`` untouched. Failures go to
    ``errors_path`` (default: ``errors.csv`` beside ``output``).
    """
    summary = ParseSummary()
    srcs = sources if sources is not None else discover(paths)
    with atomic_open(output) as fh:
        writer = csv.DictWriter(fh, fieldnames=PASSAGE_COLUMNS)
        writer.writeheader()
        for src in srcs:
            doc = read_one(src, max_bytes=max_bytes)
            if on_document is not None:
                on_document(doc)
            if isinstance(doc, ParseFailure):
                summary.failures.append(doc)
                continue
            summary.n_documents += 1
            for p in segment_document(doc):
                writer.writerow(passage_row(p))
                summary.n_passages += 1
    write_errors(errors_path or output.with_name("errors.csv"), summary.failures)
    return summary
