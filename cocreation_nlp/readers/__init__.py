"""Format readers. Each turns one file into a list of :class:`RawBlock`.

Readers know about file formats and nothing else: the assembly of the cleaned
document text, offsets, language and ids happens once, in ``ingest.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..types import TABLE_CELL_SEPARATOR, BlockKind, PageWarning

PROSE_CELL_WORDS = 20
"""A table cell this long holds running text rather than data."""


@dataclass(slots=True)
class RawBlock:
    """A block of text as a reader found it, before offsets are assigned."""

    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 0
    ocr_confidence: float | None = None  # mean OCR word confidence (0-1) where the text was recognised


@dataclass(slots=True)
class ReadResult:
    """What a reader returns: the blocks, the page count where known, and metadata found in the file.

    ``textless_pages`` lists the (1-based) pages of a PDF that gave no text,
    from their text layer or from OCR (OCR off, unavailable, or a page it
    could not read). ``warnings`` are page problems that did not stop the
    document (an unreadable or low-confidence scanned page); ``ocr_pages``
    counts the pages sent to OCR.
    """

    blocks: list[RawBlock]
    n_pages: int | None = None
    title: str = ""
    textless_pages: list[int] = field(default_factory=list)
    warnings: list[PageWarning] = field(default_factory=list)
    ocr_pages: int = 0


def table_blocks(
    rows: list[list[str]], *, page: int | None = None, ocr_confidence: float | None = None
) -> list[RawBlock]:
    """The blocks of one table: one ``table`` block, or one paragraph per row for a table of prose.

    A table block has one row per line, cells separated. When most rows carry a
    cell of running text (a numbered list of steps laid out as a table, a
    two-column "topic | explanation" box), each row becomes a paragraph, so
    that the prose is labelled like any other paragraph.

    Example:
        >>> [b.kind for b in table_blocks([["Year", "Cost"], ["2024", "12"]])]
        ['table']
        >>> [b.text for b in table_blocks([["01", "Describe the aim of the research and how its results will be used by the people who run the service."]])]
        ['01 | Describe the aim of the research and how its results will be used by the people who run the service.']
    """
    clean = [[c for c in row if c.strip()] for row in rows]
    clean = [row for row in clean if row]
    if not clean:
        return []
    prose = sum(1 for row in clean if max(len(c.split()) for c in row) >= PROSE_CELL_WORDS)
    if prose >= 0.5 * len(clean):
        return [
            RawBlock("paragraph", TABLE_CELL_SEPARATOR.join(row), page=page, ocr_confidence=ocr_confidence)
            for row in clean
        ]
    text = "\n".join(TABLE_CELL_SEPARATOR.join(row) for row in clean)
    return [RawBlock("table", text, page=page, ocr_confidence=ocr_confidence)]
