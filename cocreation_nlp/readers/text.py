"""Plain-text reader: blank lines separate blocks; bullets are list items; short title-like lines are headings."""

from __future__ import annotations

import re

from . import RawBlock, ReadResult
from .hyphenation import join_hyphenated

BULLET = re.compile(r"^\s*(?:[-*•‣▪◦–]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")


def _is_heading(lines: list[str]) -> bool:
    """A one-line block that reads like a title: short, no final full stop, not a bullet."""
    if len(lines) != 1:
        return False
    line = lines[0].strip()
    if not line or len(line) > 90 or BULLET.match(line):
        return False
    if line[-1] in ".,;:!?":
        return False
    words = line.split()
    if len(words) > 12:
        return False
    return line[0].isupper() or line[0].isdigit()


def parse_plain_text(text: str) -> ReadResult:
    """Split plain text into blocks.

    Hard-wrapped lines inside a block are joined, and a run of bullet lines
    becomes one list item per bullet, so the passages match what a reader sees.

    Example:
        >>> [b.kind for b in parse_plain_text("Title\\n\\nSome text here.\\n- a\\n- b").blocks]
        ['heading', 'paragraph', 'list_item', 'list_item']
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    lower_text = text.lower()
    blocks: list[RawBlock] = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [ln for ln in chunk.split("\n") if ln.strip()]
        if not lines:
            continue
        # Setext-style headings: a line underlined with === or ---.
        if len(lines) == 2 and _UNDERLINE.match(lines[1]):
            level = 1 if lines[1].strip().startswith("=") else 2
            blocks.append(RawBlock("heading", lines[0].strip(), level=level))
            continue
        if lines[0].lstrip().startswith("#"):
            head = lines[0].strip()
            level = len(head) - len(head.lstrip("#"))
            blocks.append(RawBlock("heading", head.lstrip("#").strip(), level=min(level, 6)))
            lines = lines[1:]
            if not lines:
                continue
        if _is_heading(lines):
            blocks.append(RawBlock("heading", lines[0].strip(), level=2))
            continue
        current = ""
        kind = "paragraph"
        for line in lines:
            if BULLET.match(line):
                if current:
                    blocks.append(RawBlock(kind, current))  # type: ignore[arg-type]
                current = BULLET.sub("", line, count=1).strip()
                kind = "list_item"
            else:
                # Hard-wrapped text: a line-end hyphen may split a word or end a compound.
                current = join_hyphenated(current, line.strip(), lower_text) if current else line.strip()
        if current:
            blocks.append(RawBlock(kind, current))  # type: ignore[arg-type]
    return ReadResult(blocks=blocks)
