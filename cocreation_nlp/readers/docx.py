"""DOCX reader (python-docx): body paragraphs and tables in order; headers and footers tagged."""

from __future__ import annotations

import re
from pathlib import Path

from . import RawBlock, ReadResult

_WS = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _paragraph_block(par) -> RawBlock | None:  # noqa: ANN001 - docx Paragraph
    text = _clean(par.text)
    if not text:
        return None
    style = (par.style.name if par.style is not None else "") or ""
    low = style.lower()
    if low == "title":
        return RawBlock("heading", text, level=1)
    if low.startswith("heading"):
        digits = "".join(ch for ch in style if ch.isdigit())
        return RawBlock("heading", text, level=int(digits) if digits else 2)
    num = par._p.pPr is not None and par._p.pPr.numPr is not None
    if low.startswith("list") or num:
        return RawBlock("list_item", text)
    return RawBlock("paragraph", text)


def parse_docx(path: Path) -> ReadResult:
    """Read a DOCX file.

    Body paragraphs and tables are read in document order (python-docx's
    ``iter_inner_content``), so a table sits where the author put it. Each
    distinct header and footer text is kept once as a ``header``/``footer``
    block: tagged, never a passage.
    """
    import docx

    document = docx.Document(str(path))
    blocks: list[RawBlock] = []
    seen: set[tuple[str, str]] = set()
    for section in document.sections:
        for part, kind in ((section.header, "header"),):
            for par in part.paragraphs:
                text = _clean(par.text)
                if text and (kind, text) not in seen:
                    seen.add((kind, text))
                    blocks.append(RawBlock(kind, text))  # type: ignore[arg-type]
    for item in document.iter_inner_content():
        if item.__class__.__name__ == "Paragraph":
            block = _paragraph_block(item)
            if block:
                blocks.append(block)
        else:  # Table
            # Merged cells repeat in row.cells. lxml proxies are recreated on
            # access, so id() is only unique while the element is referenced:
            # keep the elements alive, or ids get reused and cells vanish at random.
            seen_tcs: list = []
            seen_ids: set[int] = set()
            for row in item.rows:
                for cell in row.cells:
                    tc = cell._tc
                    if id(tc) in seen_ids:
                        continue
                    seen_tcs.append(tc)
                    seen_ids.add(id(tc))
                    text = _clean(cell.text)
                    if text:
                        blocks.append(RawBlock("table_cell", text))
    for section in document.sections:
        for par in section.footer.paragraphs:
            text = _clean(par.text)
            if text and ("footer", text) not in seen:
                seen.add(("footer", text))
                blocks.append(RawBlock("footer", text))
    title = document.core_properties.title or ""
    return ReadResult(blocks=blocks, title=title)
