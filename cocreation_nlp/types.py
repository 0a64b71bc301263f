"""Small typed records passed between the stages.

Records carry character offsets into the cleaned document text, never spaCy
token indices, so they outlive any ``Doc`` and can be stored as standoff
references (doc_id + offsets + fingerprint) without copying the text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table", "table_cell", "header", "footer"]
PassageKind = Literal["paragraph", "list_item", "heading", "table", "table_cell"]
TextSource = Literal["text", "ocr"]
"""Where a passage's text came from: the file's own text, or OCR of a page image."""

PASSAGE_KINDS: frozenset[str] = frozenset({"paragraph", "list_item", "heading", "table", "table_cell"})
LABELLING_KINDS: frozenset[str] = frozenset({"paragraph", "list_item", "table_cell"})
"""Passage kinds that are labelling units. Headings and tables are kept in the
passage table so that no text is lost, but the codebook labels what a passage
says ("a heading alone ... gets no label"), so they are neither classified
nor counted in document scores. ``table_cell`` only appears in records made
before tables were kept whole."""

TABLE_CELL_SEPARATOR = " | "
"""Between the cells of one table row; rows are separated by line breaks."""


def is_labelling_unit(kind: str) -> bool:
    """Whether passages of ``kind`` are labelled, classified and scored.

    Example:
        >>> is_labelling_unit("paragraph"), is_labelling_unit("heading"), is_labelling_unit("table")
        (True, False, False)
    """
    return kind in LABELLING_KINDS


def not_a_unit_reason(kind: str) -> str:
    """The ``scope_reason`` of a passage that is kept in the tables but not classified."""
    if kind == "heading":
        return "heading: not a labelling unit (the codebook labels passages; a heading alone gets no label)"
    return f"{kind}: not a labelling unit (kept so that no text is lost; not classified or scored)"


_WS = re.compile(r"\s+")


def fingerprint(text: str) -> str:
    """Return a short, whitespace- and case-insensitive fingerprint of ``text``.

    Annotations refer to passages by this fingerprint, so it must not change
    when only line breaks or spacing change between parser versions.

    Example:
        >>> fingerprint("Hello  World") == fingerprint("hello world")
        True
    """
    norm = _WS.sub(" ", text).strip().lower()
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Block:
    """A structural unit of a parsed document: a heading, paragraph, list item or table.

    ``start_char``/``end_char`` index into :attr:`Document.text`. ``level`` is the
    heading depth (1 = top) for headings and 0 otherwise. A table's text has
    one row per line, its cells joined by :data:`TABLE_CELL_SEPARATOR`.
    """

    kind: BlockKind
    start_char: int
    end_char: int
    page: int | None = None
    level: int = 0
    ocr_confidence: float | None = None  # mean OCR word confidence (0-1); None: read from a text layer

    def __post_init__(self) -> None:
        if not 0 <= self.start_char <= self.end_char:
            raise ValueError(
                f"Block offsets must satisfy 0 <= start <= end; got {self.start_char}, {self.end_char}."
            )


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed, cleaned document.

    ``text`` is the cleaned text (blocks joined by blank lines); ``blocks`` say
    what each span of it is. ``meta`` holds the manifest columns.
    """

    doc_id: str
    text: str
    source: str
    format: str
    blocks: tuple[Block, ...] = ()
    language: str = "und"
    n_pages: int | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    content_sha256: str = ""
    warnings: tuple[PageWarning, ...] = ()  # page problems that did not stop the document (OCR)
    ocr_pages: int = 0  # pages read by OCR

    def block_text(self, block: Block) -> str:
        """Return the slice of the document text covered by ``block``."""
        return self.text[block.start_char : block.end_char]


@dataclass(frozen=True, slots=True)
class Passage:
    """One row of the passage table: a labelling unit, or a heading or table kept so no text is lost.

    A labelling unit is a paragraph, possibly with the list items and short
    lines that belong to it (see :func:`is_labelling_unit`). ``source`` is
    ``ocr`` for text recognised on a scanned page, with the mean word
    confidence in ``ocr_confidence``, so that an analyst can set such passages
    apart or check them.

    Invariant: ``document.text[start_char:end_char] == text``.
    """

    passage_id: str
    doc_id: str
    index: int
    start_char: int
    end_char: int
    text: str
    kind: PassageKind = "paragraph"
    page: int | None = None
    heading: str = ""
    context: str = ""
    n_words: int = 0
    n_sentences: int = 0
    fingerprint: str = ""
    language: str = "und"
    source: TextSource = "text"  # "ocr": recognised on a scanned page image
    ocr_confidence: float | None = None  # mean OCR word confidence (0-1) of its blocks; None: text layer

    def __post_init__(self) -> None:
        if not 0 <= self.start_char < self.end_char:
            raise ValueError(
                f"Passage offsets must satisfy 0 <= start < end; got {self.start_char}, {self.end_char}."
            )
        if (self.source == "ocr") != (self.ocr_confidence is not None) or self.source not in ("text", "ocr"):
            raise ValueError(
                f"Passage {self.passage_id}: source {self.source!r} with ocr_confidence {self.ocr_confidence!r} "
                "(an OCR passage has a confidence, a text passage none)."
            )
        if len(self.text) != self.end_char - self.start_char:
            raise ValueError(
                f"Passage {self.passage_id}: text length {len(self.text)} does not match "
                f"offsets {self.start_char}-{self.end_char}."
            )


@dataclass(frozen=True, slots=True)
class PageWarning:
    """A page problem that did not stop its document (a low-confidence or unreadable scanned page).

    Written to errors.csv as a row of severity ``warning``: the document's
    other pages are kept.
    """

    page: int
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A document that could not be read, with the reason (one row of errors.csv)."""

    source: str
    doc_id: str
    error_type: str
    message: str
