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

BlockKind = Literal["heading", "paragraph", "list_item", "table_cell", "header", "footer"]
PassageKind = Literal["paragraph", "list_item", "table_cell"]

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
    """A structural unit of a parsed document: a heading, paragraph, list item or table cell.

    ``start_char``/``end_char`` index into :attr:`Document.text`. ``level`` is the
    heading depth (1 = top) for headings and 0 otherwise.
    """

    kind: BlockKind
    start_char: int
    end_char: int
    page: int | None = None
    level: int = 0

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

    def block_text(self, block: Block) -> str:
        """Return the slice of the document text covered by ``block``."""
        return self.text[block.start_char : block.end_char]


@dataclass(frozen=True, slots=True)
class Passage:
    """One labelling unit: a paragraph, a list item or a table cell.

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

    def __post_init__(self) -> None:
        if not 0 <= self.start_char < self.end_char:
            raise ValueError(
                f"Passage offsets must satisfy 0 <= start < end; got {self.start_char}, {self.end_char}."
            )
        if len(self.text) != self.end_char - self.start_char:
            raise ValueError(
                f"Passage {self.passage_id}: text length {len(self.text)} does not match "
                f"offsets {self.start_char}-{self.end_char}."
            )


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A document that could not be read, with the reason (one row of errors.csv)."""

    source: str
    doc_id: str
    error_type: str
    message: str
