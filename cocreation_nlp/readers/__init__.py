"""Format readers. Each turns one file into a list of :class:`RawBlock`.

Readers know about file formats and nothing else: the assembly of the cleaned
document text, offsets, language and ids happens once, in ``ingest.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..types import BlockKind


@dataclass(slots=True)
class RawBlock:
    """A block of text as a reader found it, before offsets are assigned."""

    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 0


@dataclass(slots=True)
class ReadResult:
    """What a reader returns: the blocks, the page count where known, and metadata found in the file."""

    blocks: list[RawBlock]
    n_pages: int | None = None
    title: str = ""
