"""PDF reader on pypdfium2: lines from PDFium's text rectangles, then layout clean-up.

Real policy PDFs put running headers, footers and page numbers on every page,
break words across lines with hyphens, lay some pages out in two columns and
carry no paragraph markup at all. This module rebuilds paragraphs from line
geometry:

1. PDFium's text rectangles are grouped into lines (same baseline band, no
   wide horizontal gap: a wide gap is a column gutter).
2. Lines in the top and bottom margins whose text (digits masked) repeats on
   several pages are running headers/footers and are dropped, as are bare page
   numbers.
3. A page whose lines sit in two separate halves is read column by column.
4. Lines are joined into blocks by vertical spacing, indentation, bullets and
   font size (larger, short lines are headings); a paragraph that runs on over
   a column or page break is continued.
5. End-of-line hyphens are removed when the joined word is a known word and
   kept for real compounds (``co-design``, ``long-term``).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmptyDocumentError, InputError
from . import RawBlock, ReadResult
from .hyphenation import join_hyphenated

_BULLET = re.compile(
    r"^(?:[•●▪◦‣∙·■□➢►✓\uf0b7\uf0a7\uf076\uf0d8]|[-–—*](?=\s)|o(?=\s{1,3}[A-Z])|\(?\d{1,2}[.)](?=\s)|\(?[a-z][.)](?=\s))\s*"
)
_PAGE_NUM = re.compile(
    r"^(?:page|seite|página|pagina|pag\.|p\.)?\s*[-–]?\s*\d{1,4}\s*[-–]?\s*(?:(?:of|/|von|de|di|sur)\s*\d{1,4})?$",
    re.I,
)
_TERMINAL = '.!?:;"”’)»'
_WS = re.compile(r"[ \t\u00a0]+")


@dataclass(slots=True)
class _Line:
    x0: float
    x1: float
    bottom: float
    top: float
    text: str
    page: int
    column: int = 0
    size: float = 0.0  # font size in points (rect height where the PDF scales text by matrix)
    bold: bool = False

    @property
    def height(self) -> float:
        return self.top - self.bottom


def _normalise_header(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _page_lines(page, page_no: int) -> list[_Line]:  # noqa: ANN001 - PdfPage
    textpage = page.get_textpage()
    try:
        n = textpage.count_rects()
        lines: list[_Line] = []
        for i in range(n):
            x0, bottom, x1, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(x0, bottom, x1, top)
            text = text.replace("\r", " ").replace("\n", " ").replace("\x02", "-").replace("\xad", "-")
            if not text.strip():
                continue
            height = max(top - bottom, 1.0)
            prev = lines[-1] if lines else None
            if prev is not None:
                overlap = min(prev.top, top) - max(prev.bottom, bottom)
                same_band = overlap >= 0.5 * min(prev.height, height)
                gap = x0 - prev.x1
                if same_band and -2.0 <= gap <= max(1.6 * max(prev.height, height), 12.0):
                    if gap > 0.25 * height and not prev.text.endswith(" ") and not text.startswith(" "):
                        prev.text += " "
                    prev.text += text
                    prev.x1 = max(prev.x1, x1)
                    prev.top = max(prev.top, top)
                    prev.bottom = min(prev.bottom, bottom)
                    continue
            lines.append(_Line(x0, x1, bottom, top, text, page_no))
        for line in lines:
            line.text = _WS.sub(" ", line.text).strip()
            _font_style(textpage, line)
        return [ln for ln in lines if ln.text]
    finally:
        textpage.close()


_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi", re.I)


def _char_style(textpage, x: float, y: float) -> tuple[float, bool] | None:  # noqa: ANN001
    import ctypes

    import pypdfium2.raw as pdfium_c

    idx = textpage.get_index(x, y, 2.0, 2.0)
    if idx is None or idx < 0:
        return None
    size = float(pdfium_c.FPDFText_GetFontSize(textpage.raw, idx))
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int(0)
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, idx, buf, 128, ctypes.byref(flags))
    weight = int(pdfium_c.FPDFText_GetFontWeight(textpage.raw, idx))
    bold = bool(_BOLD_NAME.search(buf.value.decode("latin-1", "replace"))) or weight >= 600
    return size, bold


def _font_style(textpage, line: _Line) -> None:  # noqa: ANN001
    """Font size and boldness of a line, from its first and last characters.

    Headings in many PDFs differ from body text only by weight or by half a
    point, which line heights cannot show. Text drawn with a scaling matrix
    reports size 1: the rect height stands in for it then.
    """
    mid = (line.bottom + line.top) / 2
    first = _char_style(textpage, line.x0 + 0.5, mid)
    last = _char_style(textpage, line.x1 - 0.5, mid)
    size = first[0] if first else 0.0
    line.size = size if size >= 2.0 else line.height
    line.bold = bool(first and last and first[1] and last[1])


def _find_gutter(lines: list[_Line], width: float) -> float | None:
    """Return the x position of a column gutter, or None on a one-column page.

    A gutter is an x position in the middle half of the page that no line
    crosses while it has a neighbour beside it: full-width lines (a title,
    a boxed note under the columns) may cross it, since nothing sits beside
    them. Columns are often asymmetric, so the page centre is not assumed.
    At least four lines must sit wholly on each side, side by side.
    """
    if len(lines) < 8:
        return None
    beside: list[list[int]] = [[] for _ in lines]
    for i, a in enumerate(lines):
        for j in range(i + 1, len(lines)):
            b = lines[j]
            if min(a.top, b.top) - max(a.bottom, b.bottom) > 0.3 * min(a.height, b.height):
                beside[i].append(j)
                beside[j].append(i)
    best_run: tuple[int, float, float] | None = None  # (length, start, end)
    run_start: float | None = None
    prev_x = 0.0
    x = width * 0.25
    while x <= width * 0.75 + 2.0:
        ok = x <= width * 0.75
        if ok:
            n_left = n_right = 0
            for i, ln in enumerate(lines):
                if ln.x1 <= x:
                    n_left += 1
                elif ln.x0 >= x:
                    n_right += 1
                elif any(lines[j].x1 <= x or lines[j].x0 >= x for j in beside[i]):
                    ok = False
                    break
            ok = ok and n_left >= 4 and n_right >= 4
        if ok and run_start is None:
            run_start = x
        elif not ok and run_start is not None:
            length = prev_x - run_start
            if best_run is None or length > best_run[0]:
                best_run = (int(length), run_start, prev_x)
            run_start = None
        prev_x = x
        x += 2.0
    if best_run is None:
        return None
    gutter = (best_run[1] + best_run[2]) / 2
    left = [ln for ln in lines if ln.x1 <= gutter]
    right = [ln for ln in lines if ln.x0 >= gutter]
    side_by_side = any(
        lines[j].x0 >= gutter for i, ln in enumerate(lines) if ln.x1 <= gutter for j in beside[i]
    )
    if not side_by_side or len(left) < 4 or len(right) < 4:
        return None
    return gutter


def _order_columns(lines: list[_Line], width: float) -> list[_Line]:
    """Return lines in reading order: on two-column pages, band by band, left column first.

    Full-width lines split the page into bands (a title above the columns,
    a boxed note between two column sections); within a band the left column
    is read before the right one.
    """
    lines_sorted = sorted(lines, key=lambda ln: (-round(ln.top), ln.x0))
    gutter = _find_gutter(lines, width)
    if gutter is None:
        return lines_sorted
    order: list[_Line] = []
    band_left: list[_Line] = []
    band_right: list[_Line] = []

    def close_band() -> None:
        order.extend(band_left)
        order.extend(band_right)
        band_left.clear()
        band_right.clear()

    for ln in lines_sorted:
        if ln.x1 <= gutter:
            band_left.append(ln)
        elif ln.x0 >= gutter:
            ln.column = 1
            band_right.append(ln)
        else:
            close_band()
            order.append(ln)
    close_band()
    return order


def _ends_sentence(text: str) -> bool:
    return bool(text) and text.rstrip()[-1] in _TERMINAL


def _build_blocks(lines: list[_Line], vocabulary_text: str) -> list[RawBlock]:
    if not lines:
        return []
    body_heights = [ln.height for ln in lines if len(ln.text) > 30] or [ln.height for ln in lines]
    body_h = statistics.median(body_heights)
    body_size = statistics.median([ln.size for ln in lines if len(ln.text) > 30] or [ln.size for ln in lines])
    # The usual gap between lines inside a paragraph: measured between
    # consecutive long lines only, so tables and lists do not skew it.
    gaps = [
        a.bottom - b.top
        for a, b in zip(lines, lines[1:], strict=False)
        if a.page == b.page
        and a.column == b.column
        and 0 <= a.bottom - b.top < 3 * body_h
        and len(a.text) > 40
        and len(b.text) > 40
    ] or [
        a.bottom - b.top
        for a, b in zip(lines, lines[1:], strict=False)
        if a.page == b.page and a.column == b.column and 0 <= a.bottom - b.top < 3 * body_h
    ]
    line_gap = statistics.median(gaps) if gaps else 0.3 * body_h
    # Column extents, for "line ended short" checks.
    # Column edges from body lines only: the usual left margin (the most common
    # x0) and a high percentile of x1, so a heading or a wide table row
    # does not make every body line look indented or short.
    x0s: dict[tuple[int, int], list[float]] = {}
    x1s: dict[tuple[int, int], list[float]] = {}
    for ln in lines:
        if ln.height <= 1.18 * body_h:
            x0s.setdefault((ln.page, ln.column), []).append(ln.x0)
            x1s.setdefault((ln.page, ln.column), []).append(ln.x1)
    left_edge: dict[tuple[int, int], float] = {}
    right_edge: dict[tuple[int, int], float] = {}
    for key, xs in x0s.items():
        mode = Counter(round(x / 2) for x in xs).most_common(1)[0][0] * 2
        left_edge[key] = min(x for x in xs if abs(x - mode) <= 2.5)
        ends = sorted(x1s[key])
        right_edge[key] = ends[int(0.9 * (len(ends) - 1))]
    for ln in lines:
        key = (ln.page, ln.column)
        left_edge.setdefault(key, ln.x0)
        right_edge.setdefault(key, ln.x1)

    blocks: list[RawBlock] = []
    current: list[_Line] = []
    kind = "paragraph"

    def flush() -> None:
        nonlocal current, kind
        if current:
            text = current[0].text
            for nxt in current[1:]:
                text = join_hyphenated(text, nxt.text, vocabulary_text)
            if kind == "list_item":
                text = _BULLET.sub("", text, count=1).strip()
            if text:
                level = 1 if kind == "heading" and current[0].height > 1.5 * body_h else 2
                blocks.append(
                    RawBlock(kind, text, page=current[0].page, level=level if kind == "heading" else 0)
                )  # type: ignore[arg-type]
        current = []
        kind = "paragraph"

    for ln in lines:
        caps_heading = (
            ln.text.isupper()
            and len(ln.text) >= 4
            and 1 <= len(ln.text.split()) <= 8
            and not _ends_sentence(ln.text)
            and (not current or _ends_sentence(current[-1].text) or kind == "heading")
        )
        # A larger or bold line is a heading only where a block can start: a
        # bold phrase inside a running paragraph stays in the paragraph.
        at_block_start = (
            not current
            or kind == "heading"
            or _ends_sentence(current[-1].text)
            or current[-1].bottom - ln.top > line_gap + 0.5 * body_h
            or ln.page != current[-1].page
        )
        styled = ln.size > 1.04 * body_size or ln.bold
        is_heading = (
            (ln.height > 1.18 * body_h and len(ln.text.split()) <= 16)
            or (
                styled
                and at_block_start
                and len(ln.text.split()) <= 12
                and not ln.text.rstrip().endswith((".", ";", ","))
            )
            or caps_heading
        )
        is_bullet = bool(_BULLET.match(ln.text)) and len(ln.text) > 2
        if not current:
            kind = "heading" if is_heading else ("list_item" if is_bullet else "paragraph")
            current = [ln]
            continue
        prev = current[-1]
        key = (prev.page, prev.column)
        jumped = ln.page != prev.page or ln.column != prev.column or ln.top > prev.top + 2
        if kind == "heading":
            if is_heading and not jumped and prev.bottom - ln.top < 1.5 * body_h:
                current.append(ln)
                continue
            flush()
            kind = "heading" if is_heading else ("list_item" if is_bullet else "paragraph")
            current = [ln]
            continue
        if is_heading or is_bullet:
            flush()
            kind = "heading" if is_heading else "list_item"
            current = [ln]
            continue
        if jumped:
            # Column or page break: continue only a paragraph that is visibly unfinished.
            unfinished = not _ends_sentence(prev.text) and (
                ln.text[:1].islower() or prev.text.endswith(("-", ","))
            )
            if unfinished:
                current.append(ln)
            else:
                flush()
                current = [ln]
            continue
        gap = prev.bottom - ln.top
        big_gap = gap > line_gap + 0.5 * body_h
        prev_short = prev.x1 < right_edge[key] - 0.12 * (right_edge[key] - left_edge[key])
        indented = kind == "paragraph" and ln.x0 > left_edge[key] + 8 and prev_short
        if big_gap or (prev_short and _ends_sentence(prev.text)) or indented:
            if (
                kind == "list_item"
                and not big_gap
                and ln.x0 > left_edge[key] + 4
                and not _ends_sentence(prev.text)
            ):
                current.append(ln)  # wrapped line of a bullet
                continue
            flush()
            current = [ln]
            continue
        current.append(ln)
    flush()
    return _merge_continuations(blocks, vocabulary_text)


def _merge_continuations(blocks: list[RawBlock], vocabulary_text: str) -> list[RawBlock]:
    """Join a paragraph to the previous block when the sentence visibly runs on.

    Layout cues (a sidebar, a figure, a page break with a footnote) can cut a
    paragraph in two. When a paragraph starts in lower case right after a
    block that did not end a sentence, on the same or the next page, it is
    the rest of that block.
    """
    out: list[RawBlock] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and block.kind == "paragraph"
            and prev.kind in ("paragraph", "list_item")
            and block.text[:1].islower()
            and not _ends_sentence(prev.text)
            and (prev.page is None or block.page is None or 0 <= block.page - prev.page <= 1)
        ):
            prev.text = join_hyphenated(prev.text, block.text, vocabulary_text)
            continue
        out.append(block)
    return out


def parse_pdf(path: Path, *, max_pages: int | None = None) -> ReadResult:
    """Read a PDF into blocks with page numbers.

    Raises:
        InputError: encrypted (password) or corrupt files.
        EmptyDocumentError: a PDF without a text layer (scanned pages).
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:
        msg = str(err)
        if "password" in msg.lower():
            raise InputError(
                str(path), "the PDF is encrypted (password-protected); decrypt it first", kind="encrypted"
            ) from err
        raise InputError(
            str(path), f"not a readable PDF ({msg}); the file may be corrupt or truncated", kind="corrupt"
        ) from err
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise EmptyDocumentError(str(path), "the PDF has no pages")
        pages: list[list[_Line]] = []
        widths: list[float] = []
        heights: list[float] = []
        total_chars = 0
        for i in range(n_pages if max_pages is None else min(n_pages, max_pages)):
            page = pdf[i]
            try:
                w, h = page.get_size()
                lines = _page_lines(page, i + 1)
            finally:
                page.close()
            total_chars += sum(len(ln.text) for ln in lines)
            pages.append(lines)
            widths.append(w)
            heights.append(h)
    finally:
        pdf.close()
    if total_chars == 0:
        raise EmptyDocumentError(
            str(path),
            f"no text layer on any of its {n_pages} page(s): a scanned PDF? Run OCR (e.g. ocrmypdf) first",
        )
    _drop_running_lines_pdf(pages, heights)
    ordered: list[_Line] = []
    for lines, w in zip(pages, widths, strict=True):
        ordered.extend(_order_columns(lines, w))
    vocabulary_text = "\n".join(ln.text for ln in ordered).lower()
    blocks = _build_blocks(ordered, vocabulary_text)
    return ReadResult(blocks=blocks, n_pages=n_pages)


def _drop_running_lines_pdf(pages: list[list[_Line]], heights: list[float]) -> None:
    """Remove running headers, footers and bare page numbers in place.

    A margin line (PDF space: y grows upwards) is running text when its
    digit-masked form appears on at least 40% of the pages.
    """
    n_pages = len(pages)
    counts: Counter[str] = Counter()
    margins: list[list[tuple[_Line, str]]] = []
    for lines, h in zip(pages, heights, strict=True):
        marg = [
            (ln, _normalise_header(ln.text)) for ln in lines if ln.bottom >= 0.90 * h or ln.top <= 0.10 * h
        ]
        margins.append(marg)
        counts.update({norm for _, norm in marg})
    threshold = max(2, int(0.4 * n_pages + 0.5))
    for lines, marg in zip(pages, margins, strict=True):
        drop = {
            id(ln)
            for ln, norm in marg
            if (n_pages >= 2 and counts[norm] >= threshold) or _PAGE_NUM.match(ln.text)
        }
        lines[:] = [ln for ln in lines if id(ln) not in drop]
