"""The passages of a project: adding them (from passage tables or through ingest and segment) and reading them back.

A passage is stored once, keyed by its id; adding the same id with the same
text again changes nothing, and with other text it is reported as a conflict
(earlier decisions may refer to the old text), never overwritten.

Every passage keeps its kind (paragraph, list item, heading, table, ...),
its word count and its language: the queue serves labelling units only
(:mod:`.units`), and the rule evidence shown beside it uses the passage's
own lexicon (:mod:`.evidence`).
"""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AnnotationError, InputError
from ..ingest import read_documents, slugify
from ..segment import segment_document
from ..tables import read_rows
from ..types import ParseFailure
from ..types import fingerprint as text_fingerprint
from . import sampling
from .provenance import normalize_annotator, utc_now
from .settings import stored_seed
from .units import count_words


@dataclass(frozen=True, slots=True)
class PassageRow:
    """A passage as the store keeps it, with the context the labelling view shows."""

    passage_id: str
    doc_id: str
    text: str
    index: int = 0
    start_char: int | None = None
    end_char: int | None = None
    fingerprint: str = ""
    title: str = ""
    heading: str = ""
    page: int | None = None
    context: str = ""
    kind: str = "paragraph"
    language: str = ""


@dataclass(slots=True)
class AddResult:
    """What :meth:`AnnotationStore.add_passages` did."""

    added: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def passage_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A ``passages`` row as the dict the app and the exports use."""
    return {
        "passage_id": row["passage_id"],
        "doc_id": row["doc_id"],
        "index": row["idx"],
        "start_char": row["start_char"],
        "end_char": row["end_char"],
        "text": row["text"],
        "fingerprint": row["fingerprint"],
        "title": row["title"],
        "heading": row["heading"],
        "page": row["page"],
        "context": row["context"],
        "kind": row["kind"],
        "n_words": row["n_words"],
        "language": row["language"],
    }


class PassagesMixin:
    """Adding and reading passages and annotators (part of :class:`~.store.AnnotationStore`)."""

    def add_passages(self, passages: Iterable[PassageRow]) -> AddResult:
        """Add passages; a passage already present with the same text is left alone.

        A passage id that is present with *different* text is a conflict: the
        earlier text may already have decisions, so it is reported, not
        overwritten.
        """
        result = AddResult()
        now = utc_now()
        with self.write() as conn:  # type: ignore[attr-defined]
            seed = stored_seed(conn)
            for p in passages:
                if not p.text.strip():
                    result.failures.append(f"{p.passage_id}: empty text")
                    continue
                fp = p.fingerprint or text_fingerprint(p.text)
                row = conn.execute(
                    "SELECT fingerprint FROM passages WHERE passage_id = ?", (p.passage_id,)
                ).fetchone()
                if row is not None:
                    if row["fingerprint"] == fp:
                        result.unchanged += 1
                    else:
                        result.conflicts.append(p.passage_id)
                    continue
                conn.execute(
                    "INSERT INTO passages (passage_id, doc_id, idx, start_char, end_char, text, fingerprint, "
                    "title, heading, page, context, kind, n_words, language, overlap_key, rand_key, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        p.passage_id,
                        p.doc_id,
                        p.index,
                        p.start_char,
                        p.end_char,
                        p.text,
                        fp,
                        p.title,
                        p.heading,
                        p.page,
                        p.context,
                        p.kind or "paragraph",
                        count_words(p.text),
                        p.language,
                        sampling.overlap_key(p.passage_id),
                        sampling.stable_unit(seed, p.passage_id),
                        now,
                    ),
                )
                result.added += 1
        return result

    def count_passages(self) -> int:
        """Number of passages in the project."""
        with self.read() as conn:  # type: ignore[attr-defined]
            return int(conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def passage_ids(self) -> list[str]:
        """All passage ids in insertion order."""
        with self.read() as conn:  # type: ignore[attr-defined]
            return [r[0] for r in conn.execute("SELECT passage_id FROM passages ORDER BY seq")]

    def get_passage(self, passage_id: str, *, with_neighbours: bool = True) -> dict[str, Any]:
        """A passage as a dict, with the text of the passages before and after it in its document.

        Raises:
            AnnotationError: when the passage does not exist.
        """
        with self.read() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT * FROM passages WHERE passage_id = ?", (passage_id,)).fetchone()
            if row is None:
                raise AnnotationError(f"No passage {passage_id!r} in this project.")
            out = passage_dict(row)
            if with_neighbours:
                order = "idx, COALESCE(start_char, 0), seq"
                siblings = conn.execute(
                    f"SELECT passage_id, text, heading FROM passages WHERE doc_id = ? ORDER BY {order}",
                    (row["doc_id"],),
                ).fetchall()
                ids = [s["passage_id"] for s in siblings]
                at = ids.index(passage_id)
                out["before"] = siblings[at - 1]["text"] if at > 0 else None
                out["after"] = siblings[at + 1]["text"] if at + 1 < len(siblings) else None
                out["doc_position"] = at + 1
                out["doc_passages"] = len(siblings)
        return out

    # ------------------------------------------------------------------ annotators

    def touch_annotator(self, name: str) -> str:
        """Register ``name`` (or update when it was last seen); return the clean name."""
        clean = normalize_annotator(name)
        now = utc_now()
        with self.write() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO annotators (name, created_at, last_seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                (clean, now, now),
            )
        return clean

    def annotators(self) -> list[dict[str, Any]]:
        """Every annotator with their number of decisions."""
        with self.read() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                "SELECT a.name, a.created_at, a.last_seen_at, "
                "(SELECT COUNT(*) FROM decisions d WHERE d.annotator = a.name AND d.skipped = 0) AS n_decisions, "
                "(SELECT COUNT(*) FROM decisions d WHERE d.annotator = a.name AND d.skipped = 1) AS n_skipped "
                "FROM annotators a ORDER BY a.name"
            ).fetchall()
        return [dict(r) for r in rows]


def _opt_int(value: Any, column: str, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(
            where, f"column {column!r} must be an integer, got {value!r}", kind="bad-columns"
        ) from None


def read_passage_table(path: Path) -> list[PassageRow]:
    """Read passages from a CSV or JSONL table with at least a ``text`` column.

    Optional columns: ``passage_id``, ``doc_id``, ``index``, ``start_char``,
    ``end_char``, ``fingerprint``, ``title``, ``heading``, ``page``,
    ``context``, ``kind`` (``paragraph`` when absent; ``heading`` and
    ``table`` passages are kept but not served by default) and ``language``. Without ``doc_id`` the file's stem is used; without
    ``passage_id``, ``{doc_id}:{start}-{end}`` when offsets are given (the
    toolkit's id convention), else ``{doc_id}:p{index}``. Ids are
    deterministic, so adding the same file twice adds nothing.

    Raises:
        InputError: naming the file and line of a row without text or with a bad number.
    """
    out: list[PassageRow] = []
    per_doc: Counter[str] = Counter()
    offset = 2 if path.suffix.lower() == ".csv" else 1
    for n, row in enumerate(read_rows(path)):
        where = f"{path}:{n + offset}"
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                where, "row has no 'text'. A passage table needs a text column.", kind="bad-columns"
            )
        doc_id = str(row.get("doc_id") or slugify(path.stem))
        index = _opt_int(row.get("index", row.get("idx")), "index", where)
        if index is None:
            index = per_doc[doc_id]
        per_doc[doc_id] += 1
        start = _opt_int(row.get("start_char"), "start_char", where)
        end = _opt_int(row.get("end_char"), "end_char", where)
        passage_id = row.get("passage_id") or (
            f"{doc_id}:{start}-{end}" if start is not None and end is not None else f"{doc_id}:p{index}"
        )
        out.append(
            PassageRow(
                passage_id=str(passage_id),
                doc_id=doc_id,
                text=text,
                index=index,
                start_char=start,
                end_char=end,
                fingerprint=str(row.get("fingerprint") or text_fingerprint(text)),
                title=str(row.get("title") or ""),
                heading=str(row.get("heading") or ""),
                page=_opt_int(row.get("page"), "page", where),
                context=str(row.get("context") or ""),
                kind=str(row.get("kind") or "paragraph"),
                language=str(row.get("language") or ""),
            )
        )
    return out


def read_corpus_passages(
    paths: Sequence[Path], *, splits: Sequence[str] = ()
) -> tuple[list[PassageRow], list[str]]:
    """Read and segment documents with the toolkit's own ingest and segment stages.

    Args:
        paths: corpus folders, ``manifest.csv`` files or document files.
        splits: keep only documents whose manifest ``split`` is one of these
            (e.g. ``train``), so held-out documents stay unseen.

    Returns:
        The passages, and one message per document that could not be read.
    """
    passages: list[PassageRow] = []
    failures: list[str] = []
    for doc in read_documents(paths):
        if isinstance(doc, ParseFailure):
            failures.append(f"{doc.source}: {doc.error_type}: {doc.message}")
            continue
        if splits and doc.meta.get("split", "") not in splits:
            continue
        title = str(doc.meta.get("title") or doc.meta.get("file") or doc.source)
        for p in segment_document(doc):
            passages.append(
                PassageRow(
                    passage_id=p.passage_id,
                    doc_id=p.doc_id,
                    text=p.text,
                    index=p.index,
                    start_char=p.start_char,
                    end_char=p.end_char,
                    fingerprint=p.fingerprint or text_fingerprint(p.text),
                    title=title,
                    heading=p.heading,
                    page=p.page,
                    context=p.context,
                    kind=p.kind,
                    language=p.language,
                )
            )
    return passages, failures


def add_source(store: PassagesMixin, sources: Sequence[Path], *, splits: Sequence[str] = ()) -> AddResult:
    """Add passages from passage tables (CSV/JSONL with ``text``) and/or corpus paths.

    A ``.jsonl`` file, or a ``.csv`` with a ``text`` column, is a passage
    table; anything else (a folder, a ``manifest.csv``, a PDF/DOCX/HTML/text
    file) goes through ingest and segment.
    """
    tables: list[Path] = []
    corpus: list[Path] = []
    for path in sources:
        if not path.exists():
            raise InputError(str(path), "no such file or folder", kind="missing")
        if path.is_file() and path.suffix.lower() in {".jsonl", ".ndjson"}:
            tables.append(path)
        elif path.is_file() and path.suffix.lower() == ".csv" and _has_text_column(path):
            tables.append(path)
        else:
            corpus.append(path)
    rows: list[PassageRow] = []
    for table in tables:
        rows.extend(read_passage_table(table))
    failures: list[str] = []
    if corpus:
        more, failures = read_corpus_passages(corpus, splits=splits)
        rows.extend(more)
    result = store.add_passages(rows)
    result.failures.extend(failures)
    return result


def _has_text_column(path: Path) -> bool:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    return "text" in [h.strip() for h in header]
