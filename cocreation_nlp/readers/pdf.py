"""PDF reader on pypdfium2: PDFium's own text, cut into positioned lines, then layout clean-up.

Real policy PDFs put running headers, footers and page numbers on every page,
break words across lines with hyphens, lay some pages out in two columns or
in tables, draw bold text twice ("fake bold") and carry no paragraph markup
at all. This module rebuilds paragraphs from line geometry:

1. A page's text is PDFium's text in its own order (``FPDFText_GetText``),
   which already drops glyphs drawn twice over each other and places word
   spaces where a reader sees them. It is cut at PDFium's line breaks, and a
   line is cut again at a wide horizontal gap (a column gutter or a table
   cell boundary). Only the characters at the ends of these pieces and around
   spaces are measured, so a page costs a few hundred calls into PDFium, not
   one per character.
2. Lines that recur at the same place on many pages, or on many odd or even
   pages, are running headers/footers and are dropped wherever they sit, as
   are bare page numbers in the margins.
3. A page whose lines sit in two separate halves is read column by column
   (right column first on a right-to-left page).
4. Rows of several cells aligned across consecutive lines become a table
   block (one row per line, cells separated), so numeric columns are kept.
5. Other lines are joined into blocks by vertical spacing, indentation,
   bullets and font size (larger or bold, short lines are headings; a
   heading never grows past a few lines); a paragraph that runs on over a
   column or page break is continued.
6. End-of-line hyphens are removed when the joined word is a known word and
   kept for real compounds (``co-design``, ``long-term``).

Pages are read one at a time into a :class:`PageLayout`. A page hook
(``parse_pdf(fill_page=...)``) may replace a page's layout before the steps
above run: :mod:`.ocr` uses it to read scanned pages, whose recognised lines
(:func:`recognised_line`) then go through the same header removal, column,
table and block steps as text-layer lines, so a mixed PDF keeps its text pages
and recovers its scanned ones. OCR reads a running header a little
differently on each page, so lines read by OCR alone are matched to the
margin lines of other pages by similarity, not only exactly (step 2). A page
that gives no text either way is listed in ``textless_pages``.
"""

from __future__ import annotations

import ctypes
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from ..errors import EmptyDocumentError, InputError
from . import RawBlock, ReadResult, table_blocks
from .hyphenation import join_hyphenated

_BULLET = re.compile(
    r"^(?:[•●▪◦‣∙·■□➢►✓\uf0b7\uf0a7\uf076\uf0d8]|[-–—*](?=\s)|o(?=\s{1,3}[A-Z])|\(?\d{1,2}[.)](?=\s)|\(?[a-z][.)](?=\s))\s*"
)
_GLYPH_BULLET = re.compile(r"^(?:[•●▪◦‣∙·■□➢►✓\uf0b7\uf0a7\uf076\uf0d8]|[-–—*](?=\s)|o(?=\s{1,3}[A-Z]))\s*")
_MARKER = re.compile(
    r"^(?:[•●▪◦‣∙·■□➢►✓\uf0b7\uf0a7\uf076\uf0d8\-–—*]|\(?[0-9]{1,3}(?:\.[0-9]{1,2})*[.)]?|\(?[a-zA-Z][.)]|[ivxIVX]{1,4}[.)])$"
)
_PAGE_NUM = re.compile(
    r"^(?:page|seite|página|pagina|pag\.|p\.)?\s*[-–]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-–]?\s*"
    r"(?:(?:of|/|von|de|di|sur)\s*\d{1,4})?$",
    re.I,
)
_URL = re.compile(r"https?://|www\.|\w@\w+\.\w", re.I)
_TERMINAL = '.!?:;"”’)»'
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LETTER = re.compile(r"[^\W\d_]")
_ALEF = "\u0622\u0623\u0625\u0627"
_LAM = "\u0644"
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi", re.I)

MARGIN = 0.12
"""Share of the page height at the top and at the bottom searched for running headers/footers."""
MAX_HEADING_LINES = 3
MAX_HEADING_WORDS = 20


@dataclass(slots=True)
class _Line:
    x0: float
    x1: float
    bottom: float
    top: float
    text: str
    page: int
    column: int = 0
    size: float = 0.0  # font size in points (box height where the PDF scales text by matrix)
    bold: bool = False
    rtl: bool = False
    row: int = -1  # index of the table this line is a row of, -1 outside tables
    ocr: list[float] | None = None  # word confidences (0-1) of a line read by OCR; None: text layer

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass(slots=True)
class PageLayout:
    """One page as positioned lines: what the layout steps work on (read from the text layer, or by OCR)."""

    number: int
    width: float
    height: float
    lines: list[_Line] = field(default_factory=list)
    n_chars: int = 0

    @property
    def has_text(self) -> bool:
        """Whether the page gave any text (False: no text layer, a candidate for OCR)."""
        return any(ln.text.strip() for ln in self.lines)

    @property
    def text_chars(self) -> int:
        """Characters in the page's lines (a stamp or a page number alone is a few)."""
        return sum(len(ln.text) for ln in self.lines)


PageFiller = Callable[[Any, PageLayout], "PageLayout | None"]
"""A page hook: (the open ``pypdfium2.PdfDocument``, a page's text-layer layout) -> the layout to
use instead (its OCR), or ``None`` to keep the text layer. Called once per page, in order."""


def recognised_line(
    x0: float,
    x1: float,
    bottom: float,
    top: float,
    text: str,
    page: int,
    *,
    size: float,
    confidences: Iterable[float],
) -> _Line:
    """A line read by OCR, in PDF coordinates of its page, as the layout steps take it.

    ``confidences`` are the line's word confidences (0-1): they mark the line
    as OCR (fuzzy running-header matching applies to such lines only) and give
    its blocks' ``ocr_confidence``.
    """
    return _Line(x0, x1, bottom, top, text, page, size=size, ocr=list(confidences))


def _normalise_header(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


# --------------------------------------------------------------------------- reading a page


class _Chars:
    """Lazy access to the boxes and font of a text page's characters (only those asked for)."""

    def __init__(self, textpage) -> None:  # noqa: ANN001 - PdfTextPage
        import pypdfium2.raw as pdfium_c

        self._c = pdfium_c
        self._raw = textpage.raw
        self._rect = pdfium_c.FS_RECTF()
        self._ref = ctypes.byref(self._rect)
        self._loose = pdfium_c.FPDFText_GetLooseCharBox
        self._generated = pdfium_c.FPDFText_IsGenerated
        self._boxes: dict[int, tuple[float, float, float, float]] = {}
        self._fonts: dict[int, bool] = {}

    def box(self, i: int) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of char ``i``, covering the font's full height."""
        got = self._boxes.get(i)
        if got is None:
            r = self._rect
            got = (
                (r.left, r.bottom, r.right, r.top)
                if self._loose(self._raw, i, self._ref)
                else (0.0, 0.0, 0.0, 0.0)
            )
            self._boxes[i] = got
        return got

    def generated_run(self, s: int, e: int) -> bool:
        """Whether PDFium inserted a space in chars ``s:e`` itself.

        PDFium writes the space characters a PDF contains, and adds one where
        it sees a gap between pieces of text: a column gutter or a jump to the
        next table cell is such a gap (or a run of several spaces), while most
        word spaces are single real characters. Only the others need measuring.
        """
        gen = self._generated
        raw = self._raw
        if e - s == 1:
            return gen(raw, s) == 1
        return any(gen(raw, i) == 1 for i in range(s, e))

    def style(self, i: int) -> tuple[float, bool]:
        """Font size and whether the font is bold at char ``i`` (name or weight; looked up once per font)."""
        c = self._c
        size = float(c.FPDFText_GetFontSize(self._raw, i))
        obj = c.FPDFText_GetTextObject(self._raw, i)
        font = c.FPDFTextObj_GetFont(obj) if obj else None
        key = ctypes.cast(font, ctypes.c_void_p).value if font else None
        bold = self._fonts.get(key) if key is not None else None
        if bold is None:
            buf = ctypes.create_string_buffer(96)
            flags = ctypes.c_int(0)
            c.FPDFText_GetFontInfo(self._raw, i, buf, 96, ctypes.byref(flags))
            weight = int(c.FPDFText_GetFontWeight(self._raw, i))
            bold = bool(_BOLD_NAME.search(buf.value.decode("latin-1", "replace"))) or weight >= 600
            if key is not None:
                self._fonts[key] = bold
        return size, bold


_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def _join_surrogates(m: re.Match[str]) -> str:
    pair = m.group()
    if len(pair) == 2:
        # One character, padded with a zero-width space (removed on assembly) so indexes stay aligned.
        return pair.encode("utf-16-le", "surrogatepass").decode("utf-16-le") + "\u200b"
    return "\ufffd"


def _page_text(textpage, n: int) -> str:  # noqa: ANN001
    """The page's text with exactly one character per PDFium char index.

    Characters outside the Basic Multilingual Plane occupy two indexes (a
    surrogate pair); they are joined into one character plus a zero-width
    space so that index ``i`` of the string is still PDFium's char ``i``.
    """
    text = textpage.get_text_range(0, n)
    if len(text) != n:
        import pypdfium2.raw as pdfium_c

        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i) or 32) for i in range(n))
    if _SURROGATES.search(text):
        text = _SURROGATES.sub(_join_surrogates, text)
    return text


def _fix_lam_alef(text: str, start: int, chars: _Chars) -> str:
    """Put the letters of a lam-alef ligature back in reading order.

    The ligature is one glyph; many PDFs map it to "alef, lam" (visual
    order), which spells a different word. Both letters then share one box.
    """
    out = list(text)
    for k in range(len(out) - 1):
        if out[k] in _ALEF and out[k + 1] == _LAM:
            a, b = chars.box(start + k), chars.box(start + k + 1)
            if abs(a[0] - b[0]) < 0.5 and abs(a[2] - b[2]) < 0.5:
                out[k], out[k + 1] = out[k + 1], out[k]
    return "".join(out)


def _word_box(text: str, start: int, k: int, step: int, chars: _Chars) -> tuple[float, float, float, float]:
    """Box of the word that ends (step -1) or starts (step 1) at text index ``k``."""
    left, bottom, right, top = chars.box(start + k)
    j = k + step
    while 0 <= j < len(text) and not text[j].isspace():
        box = chars.box(start + j)
        left, bottom, right, top = (
            min(left, box[0]),
            min(bottom, box[1]),
            max(right, box[2]),
            max(top, box[3]),
        )
        j += step
    return left, bottom, right, top


def _spread(text: str, start: int, chars: _Chars) -> float:
    """A line's width per character per unit of height: high when the line contains a wide gap."""
    s = len(text) - len(text.lstrip())
    e = len(text.rstrip())
    if e - s < 2:
        return 0.0
    a, b = chars.box(start + s), chars.box(start + e - 1)
    h = max(a[3] - a[1], b[3] - b[1], 1.0)
    return (max(a[2], b[2]) - min(a[0], b[0])) / ((e - s) * h)


_SCRIPT_JOIN = re.compile(r"(?<=[A-Za-z])(?=[\u0590-\u08ff])|(?<=[\u0590-\u08ff])(?=[A-Za-z])")


def _space_direction_changes(text: str) -> str:
    """Put back the space between a Latin word and an Arabic or Hebrew one ("Pythonمن").

    PDFs often have no space character where left-to-right text meets
    right-to-left text; a Latin letter next to an Arabic or Hebrew letter is
    always a word boundary. (Digits are left alone: "2020م" is one token.)
    """
    return _SCRIPT_JOIN.sub(" ", text)


_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def _pieces(text: str, start: int, chars: _Chars, measure_all: bool) -> list[tuple[int, int]]:
    """Cut one PDFium line at wide gaps between words (column gutters, table cells).

    Returns (start, end) char index ranges. A gap is wide when it exceeds
    about 1.6 times the text height (and 12 points), well above the widest
    word space of justified text. Only spaces that PDFium inserted itself,
    runs of spaces, and (with ``measure_all``, for a line wider than its
    characters explain) every space are measured.
    """
    out: list[tuple[int, int]] = []
    begin = start
    generated, raw = chars._generated, chars._raw  # bound once: this loop runs for every space of a page
    for m in _SPACES.finditer(text):
        s, e = m.span()
        if s == 0 or e == len(text):
            continue
        if not measure_all and e - s == 1 and generated(raw, start + s) != 1:
            continue
        a, b = chars.box(start + s - 1), chars.box(start + e)
        h = max(a[3] - a[1], b[3] - b[1], 1.0)
        if bool(_RTL.match(text[s - 1])) != bool(_RTL.match(text[e])):
            # A change of direction (a number inside Arabic text): the words' visual
            # neighbours are their far ends, so measure between whole words.
            a = _word_box(text, start, s - 1, -1, chars)
            b = _word_box(text, start, e, 1, chars)
        gap = max(b[0] - a[2], a[0] - b[2])  # left-to-right or right-to-left
        if gap > max(1.6 * h, 12.0):
            out.append((begin, start + s))
            begin = start + e
    out.append((begin, start + len(text)))
    return out


_SOFT = ("\x02", "\xad", "\ufffe")


def _clean_piece(text: str) -> str:
    """Normalise a piece's spaces and PDFium's marks for hyphens it found at line ends.

    PDFium reports a hyphen that breaks a word at a line end as U+0002,
    U+00AD or U+FFFE. At the end of a line it becomes a hyphen for
    :func:`join_hyphenated` to repair or keep. Where PDFium has already
    joined the two halves on one line ("Ef\ufffefects", "co\ufffeproduction")
    the U+FFFE mark stays until the block is assembled (:func:`_resolve_breaks`
    decides with the document's vocabulary); the other marks are invisible
    soft hyphens and go.
    """
    end = "-" if text.endswith(_SOFT) else ""
    if end:
        text = text[:-1]
    text = text.replace("\x02", "").replace("\xad", "")
    return re.sub(r"[ \t\u00a0]+", " ", text) + end


def _resolve_breaks(text: str, vocabulary_text: str) -> str:
    """Repair or keep each hyphen PDFium marked inside a line (U+FFFE), like a line-end hyphen."""
    if "\ufffe" not in text:
        return text
    parts = text.split("\ufffe")
    out = parts[0]
    for nxt in parts[1:]:
        out = join_hyphenated(out + "-", nxt, vocabulary_text) if nxt[:1].isalpha() else out + "-" + nxt
    return out


def _continue_line(lines: list[_Line], ln: _Line) -> bool:
    """Join ``ln`` to the line before it when it continues it on the same baseline band.

    PDFium starts a new line where the baseline shifts, so a superscript
    ("S²", a footnote mark) or a change of font cuts a line in three. A
    piece that overlaps the previous line's band and starts right where it
    ends (a gap of less than about 1.6 times the text height) is the same line.
    """
    if not lines:
        return False
    prev = lines[-1]
    if prev.page != ln.page:
        return False
    overlap = min(prev.top, ln.top) - max(prev.bottom, ln.bottom)
    if overlap < 0.5 * min(prev.height, ln.height):
        return False
    h = max(prev.height, ln.height, 1.0)
    gap = (prev.x0 - ln.x1) if (prev.rtl and ln.rtl) else (ln.x0 - prev.x1)
    if not -2.0 <= gap <= max(1.6 * h, 12.0):
        return False
    sep = " " if gap > 0.2 * h and not prev.text.endswith(" ") else ""
    prev.text = f"{prev.text}{sep}{ln.text}"
    prev.x0, prev.x1 = min(prev.x0, ln.x0), max(prev.x1, ln.x1)
    prev.bottom, prev.top = min(prev.bottom, ln.bottom), max(prev.top, ln.top)
    return True


def read_page_layout(pdf, index: int) -> PageLayout:  # noqa: ANN001 - PdfDocument
    """Read page ``index`` of an open PDF into positioned lines.

    A page without a text layer comes back with no lines: the caller decides
    what to do with it (today: report it; later: OCR it).
    """
    page = pdf[index]
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            n = textpage.count_chars()
            layout = PageLayout(index + 1, width, height, n_chars=max(n, 0))
            if n <= 0:
                return layout
            text = _page_text(textpage, n)
            chars = _Chars(textpage)
            # PDFium ends a line at CR LF, and also where it removed a line-end hyphen
            # and joined the halves (U+FFFE): that is a line end on the page too.
            found = [m for m in re.finditer(r"[^\r\n\ufffe]+", text) if m.group().strip()]
            # Lines whose width per character is well above the page's usual one hold
            # a gap somewhere: there every space is measured, elsewhere only likely ones.
            spreads = [_spread(m.group(), m.start(), chars) for m in found]
            usual = statistics.median(spreads) if spreads else 0.0
            for m, spread in zip(found, spreads, strict=True):
                line_text = m.group()
                hyphen = m.end() < n and text[m.end()] == "\ufffe"
                for s, e in _pieces(line_text, m.start(), chars, spread > 1.15 * usual):
                    piece = text[s:e]
                    lead = len(piece) - len(piece.lstrip())
                    piece = piece.strip()
                    if not piece:
                        continue
                    s += lead
                    e = s + len(piece)
                    rtl = bool(_RTL.search(piece))
                    if rtl and _LAM in piece:
                        piece = _fix_lam_alef(piece, s, chars)
                    if rtl:
                        piece = _space_direction_changes(piece)
                    first, last = chars.box(s), chars.box(e - 1)
                    # Bold at both ends: a bold word inside a line does not make the line bold.
                    # (from the first letter or digit: a bullet glyph's font says nothing)
                    k = next((j for j, ch in enumerate(piece) if ch.isalnum()), 0)
                    size, bold = chars.style(s + k)
                    if bold and e - 1 != s + k:
                        bold = chars.style(e - 1)[1]
                    ln = _Line(
                        x0=min(first[0], last[0]),
                        x1=max(first[2], last[2]),
                        bottom=min(first[1], last[1]),
                        top=max(first[3], last[3]),
                        text=_clean_piece(piece) + ("-" if hyphen and e == m.end() else ""),
                        page=index + 1,
                        bold=bold,
                        rtl=rtl and len(_RTL.findall(piece)) * 2 >= len(_LETTER.findall(piece)),
                    )
                    ln.size = size if size >= 2.0 else ln.height
                    if not _continue_line(layout.lines, ln):
                        layout.lines.append(ln)
            return layout
        finally:
            textpage.close()
    finally:
        page.close()


# --------------------------------------------------------------------------- columns and tables


def _find_gutter(lines: list[_Line], width: float) -> float | None:
    """Return the x position of a column gutter, or None on a one-column page.

    A gutter is an x position in the middle half of the page that no line
    crosses while it has a neighbour beside it: full-width lines (a title,
    a boxed note under the columns) may cross it, since nothing sits beside
    them. Columns are often asymmetric, so the page centre is not assumed.
    At least three lines must sit wholly on each side, side by side.
    """
    if len(lines) < 8:
        return None
    order = sorted(range(len(lines)), key=lambda i: lines[i].bottom)
    beside: list[list[int]] = [[] for _ in lines]
    # Sweep by height: only lines whose vertical extents overlap can sit side by side.
    for pos, i in enumerate(order):
        a = lines[i]
        for j in order[pos + 1 :]:
            b = lines[j]
            if b.bottom >= a.top:
                break
            if min(a.top, b.top) - max(a.bottom, b.bottom) > 0.3 * min(a.height, b.height):
                beside[i].append(j)
                beside[j].append(i)
    if not any(beside):
        return None  # nothing sits side by side: one column
    import numpy as np

    x0 = np.array([ln.x0 for ln in lines])
    x1 = np.array([ln.x1 for ln in lines])
    # For each line, the leftmost right edge and the rightmost left edge of its neighbours.
    nb_x1 = np.array([min((lines[j].x1 for j in nb), default=np.inf) for nb in beside])
    nb_x0 = np.array([max((lines[j].x0 for j in nb), default=-np.inf) for nb in beside])
    xs = np.arange(width * 0.25, width * 0.75 + 2.0 + 1e-9, 2.0)
    X = xs[:, None]
    crossing = (x0[None, :] < X) & (x1[None, :] > X)
    blocked = (crossing & ((nb_x1[None, :] <= X) | (nb_x0[None, :] >= X))).any(axis=1)
    n_left = (x1[None, :] <= X).sum(axis=1)
    n_right = (x0[None, :] >= X).sum(axis=1)
    # Both sides hold three lines or more (a column can end early on a chapter's last page).
    oks = (~blocked) & (np.minimum(n_left, n_right) >= 3) & (n_left + n_right >= 8) & (xs <= width * 0.75)
    best_run: tuple[int, float, float] | None = None  # (length, start, end)
    run_start: float | None = None
    prev_x = 0.0
    for x, ok in zip(xs.tolist(), oks.tolist(), strict=True):
        if ok and run_start is None:
            run_start = x
        elif not ok and run_start is not None:
            length = prev_x - run_start
            if best_run is None or length > best_run[0]:
                best_run = (int(length), run_start, prev_x)
            run_start = None
        prev_x = x
    if best_run is None:
        return None
    gutter = (best_run[1] + best_run[2]) / 2
    left = [ln for ln in lines if ln.x1 <= gutter]
    right = [ln for ln in lines if ln.x0 >= gutter]
    side_by_side = any(
        lines[j].x0 >= gutter for i, ln in enumerate(lines) if ln.x1 <= gutter for j in beside[i]
    )
    if not side_by_side or min(len(left), len(right)) < 3:
        return None
    # A table is not two columns: its rows put cells side by side on most lines,
    # where columns of prose have lines of their own heights and spacing.
    paired = sum(
        1 for i, ln in enumerate(lines) if ln.x1 <= gutter and any(lines[j].x0 >= gutter for j in beside[i])
    )
    aligned = sum(
        1
        for i, ln in enumerate(lines)
        if ln.x1 <= gutter
        for j in beside[i]
        if lines[j].x0 >= gutter and abs(lines[j].bottom - ln.bottom) < 0.15 * ln.height
    )
    if paired >= 6 and aligned >= 0.9 * paired and len(left) < 1.5 * paired and _table_like(lines):
        return None
    # A form (short labels on one side, values on the other) is read row by row:
    # most lines on one side have a partner beside them, the lines are short,
    # and they do not fill a column's width the way running text does.
    if (
        paired >= 0.5 * min(len(left), len(right))
        and statistics.median(len(ln.text) for ln in lines) < 30
        and (_ragged(left) or _ragged(right))
    ):
        return None
    return gutter


def _ragged(lines: list[_Line]) -> bool:
    """Whether fewer than 40% of the lines come near the full width of the widest ones."""
    widths = sorted(ln.x1 - ln.x0 for ln in lines)
    full = widths[int(0.9 * (len(widths) - 1))]
    return sum(1 for w in widths if w >= 0.8 * full) < 0.4 * len(widths)


def _table_like(lines: list[_Line]) -> bool:
    """Whether most lines of a page are short cells rather than running prose."""
    short = sum(1 for ln in lines if len(ln.text.split()) <= 6)
    return short >= 0.6 * len(lines)


def _rtl_page(lines: list[_Line]) -> bool:
    return sum(len(ln.text) for ln in lines if ln.rtl) > 0.5 * sum(len(ln.text) for ln in lines)


def _bands(lines: list[_Line]) -> list[list[_Line]]:
    """Group lines sorted top to bottom into bands of lines that share a baseline."""
    bands: list[list[_Line]] = []
    for ln in lines:
        if bands:
            ref = bands[-1][0]
            overlap = min(ref.top, ln.top) - max(ref.bottom, ln.bottom)
            if overlap > 0.5 * min(ref.height, ln.height):
                bands[-1].append(ln)
                continue
        bands.append([ln])
    return bands


def _join_markers(band: list[_Line], rtl: bool) -> list[_Line]:
    """Join a list marker or paragraph/line number to the text beside it ("1.2" + "The plan ...")."""
    band = sorted(band, key=lambda ln: -ln.x1 if rtl else ln.x0)
    out: list[_Line] = []
    for ln in band:
        prev = out[-1] if out else None
        if prev is not None and _MARKER.match(prev.text) and len(out) == 1 and len(band) == 2:
            prev.text = f"{prev.text} {ln.text}"
            prev.x0, prev.x1 = min(prev.x0, ln.x0), max(prev.x1, ln.x1)
            prev.top, prev.bottom = max(prev.top, ln.top), min(prev.bottom, ln.bottom)
            prev.bold, prev.size = ln.bold, ln.size
            continue
        out.append(ln)
    return out


def _order_columns(lines: list[_Line], width: float) -> list[_Line]:
    """Return lines in reading order: on two-column pages, band by band, one column after the other.

    Full-width lines split the page into bands (a title above the columns,
    a boxed note between two column sections); within a band the left column
    is read before the right one, or the right before the left on a
    right-to-left page. Markers and line numbers are joined to their lines.
    """
    rtl = _rtl_page(lines)
    lines_sorted = sorted(lines, key=lambda ln: (-round(ln.top), -ln.x1 if rtl else ln.x0))
    joined: list[_Line] = []
    for band in _bands(lines_sorted):
        joined.extend(_join_markers(band, rtl))
    gutter = _find_gutter(joined, width)
    if gutter is None:
        return joined
    order: list[_Line] = []
    band_first: list[_Line] = []
    band_second: list[_Line] = []

    def close_band() -> None:
        order.extend(band_first)
        order.extend(band_second)
        band_first.clear()
        band_second.clear()

    for ln in joined:
        if ln.x1 <= gutter:
            ln.column = 1 if rtl else 0
            (band_second if rtl else band_first).append(ln)
        elif ln.x0 >= gutter:
            ln.column = 0 if rtl else 1
            (band_first if rtl else band_second).append(ln)
        else:
            close_band()
            order.append(ln)
    close_band()
    return order


def _mark_tables(lines: list[_Line]) -> int:
    """Mark runs of table rows on one page and column; return how many tables were found.

    A row is a band of two or more cells (pieces cut at wide gaps). A table is
    two or more consecutive rows, plus single-cell lines between them that
    start at one of the table's cell positions (a wrapped cell, a group label).
    """
    n_tables = 0
    by_col: dict[int, list[_Line]] = {}
    for ln in lines:
        by_col.setdefault(ln.column, []).append(ln)
    for col_lines in by_col.values():
        bands = _bands(col_lines)
        multi = [len(b) >= 2 for b in bands]
        i = 0
        while i < len(bands):
            if not multi[i]:
                i += 1
                continue
            j = i
            starts = {round(ln.x0) for ln in bands[i]}
            while j + 1 < len(bands):
                nxt = bands[j + 1]
                if multi[j + 1]:
                    j += 1
                    starts |= {round(ln.x0) for ln in nxt}
                    continue
                # a single line continues the table when it sits at a cell position and
                # more rows follow it
                if (
                    j + 2 < len(bands)
                    and multi[j + 2]
                    and any(abs(nxt[0].x0 - x) <= 3 for x in starts)
                    and len(nxt[0].text.split()) <= 12
                ):
                    j += 1
                    continue
                break
            rows = sum(multi[i : j + 1])
            # Two columns of running text that were not told apart are not a table:
            # their "rows" pair long lines of prose.
            prose = sum(
                1 for b in bands[i : j + 1] if len(b) >= 2 and sum(len(ln.text) > 35 for ln in b) >= 2
            )
            if rows >= 2 and prose < 0.5 * rows:
                for b in bands[i : j + 1]:
                    for ln in b:
                        ln.row = n_tables
                n_tables += 1
            i = j + 1
    return n_tables


def _table_rows(lines: list[_Line], rtl: bool) -> list[list[str]]:
    return [[c.text for c in sorted(band, key=lambda ln: -ln.x1 if rtl else ln.x0)] for band in _bands(lines)]


# --------------------------------------------------------------------------- blocks


def _ends_sentence(text: str) -> bool:
    return bool(text) and text.rstrip()[-1] in _TERMINAL


def _build_blocks(lines: list[_Line], vocabulary_text: str) -> list[RawBlock]:
    if not lines:
        return []
    prose = [ln for ln in lines if ln.row < 0] or lines
    body_heights = [ln.height for ln in prose if len(ln.text) > 30] or [ln.height for ln in prose]
    body_h = statistics.median(body_heights)
    body_size = statistics.median([ln.size for ln in prose if len(ln.text) > 30] or [ln.size for ln in prose])
    # The usual gap between lines inside a paragraph: measured between
    # consecutive long lines only, so tables and lists do not skew it.
    gaps = [
        a.bottom - b.top
        for a, b in zip(prose, prose[1:], strict=False)
        if a.page == b.page
        and a.column == b.column
        and 0 <= a.bottom - b.top < 3 * body_h
        and len(a.text) > 40
        and len(b.text) > 40
    ] or [
        a.bottom - b.top
        for a, b in zip(prose, prose[1:], strict=False)
        if a.page == b.page and a.column == b.column and 0 <= a.bottom - b.top < 3 * body_h
    ]
    line_gap = statistics.median(gaps) if gaps else 0.3 * body_h
    # Column edges from body lines only: the usual left margin (the most common
    # x0) and a high percentile of x1, so a heading or a wide table row
    # does not make every body line look indented or short.
    x0s: dict[tuple[int, int], list[float]] = {}
    x1s: dict[tuple[int, int], list[float]] = {}
    for ln in prose:
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
        if current and kind == "table":
            rows = [
                [_resolve_breaks(c, vocabulary_text) for c in r] for r in _table_rows(current, current[0].rtl)
            ]
            blocks.extend(table_blocks(rows, page=current[0].page, ocr_confidence=_ocr_confidence(current)))
        elif current:
            text = current[0].text
            for nxt in current[1:]:
                text = join_hyphenated(text, nxt.text, vocabulary_text)
            text = _resolve_breaks(text, vocabulary_text)
            if kind == "list_item":
                # Bullet glyphs go; enumerators ("2.", "b)") are words a reader refers to and stay.
                text = _GLYPH_BULLET.sub("", text, count=1).strip()
            if text:
                level = 1 if kind == "heading" and current[0].size > 1.5 * body_size else 2
                blocks.append(
                    RawBlock(
                        kind,  # type: ignore[arg-type]
                        text,
                        page=current[0].page,
                        level=level if kind == "heading" else 0,
                        ocr_confidence=_ocr_confidence(current),
                    )
                )
        current = []
        kind = "paragraph"

    for ln in lines:
        if ln.row >= 0:
            if not (
                current and kind == "table" and current[-1].row == ln.row and current[-1].page == ln.page
            ):
                flush()
                kind = "table"
            current.append(ln)
            continue
        if kind == "table":
            flush()
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
            (ln.size > 1.18 * body_size and len(ln.text.split()) <= 16)
            or (
                styled
                and at_block_start
                and len(ln.text.split()) <= 12
                and not ln.text.rstrip().endswith((".", ";", ","))
            )
            or caps_heading
        ) and bool(_LETTER.search(ln.text))
        # A web address or a bulleted line is never a heading, whatever its font.
        is_heading = is_heading and not _URL.search(ln.text) and not _GLYPH_BULLET.match(ln.text)
        is_bullet = bool(_BULLET.match(ln.text)) and len(ln.text) > 2
        if not current:
            kind = "heading" if is_heading else ("list_item" if is_bullet else "paragraph")
            current = [ln]
            continue
        prev = current[-1]
        key = (prev.page, prev.column)
        jumped = ln.page != prev.page or ln.column != prev.column or ln.top > prev.top + 2
        if kind == "heading":
            words = sum(len(c.text.split()) for c in current) + len(ln.text.split())
            if (
                is_heading
                and not jumped
                and prev.bottom - ln.top < 1.5 * body_h
                and len(current) < MAX_HEADING_LINES
                and words <= MAX_HEADING_WORDS
                and abs(ln.size - prev.size) < 0.5
            ):
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
        indented = kind == "paragraph" and ln.x0 > left_edge[key] + 8 and prev_short and not ln.rtl
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


def _ocr_confidence(lines: list[_Line]) -> float | None:
    """Mean word confidence of the OCR lines of a block (None when no line came from OCR)."""
    confs = [c for ln in lines if ln.ocr is not None for c in ln.ocr]
    return round(sum(confs) / len(confs), 4) if confs else None


def _merge_continuations(blocks: list[RawBlock], vocabulary_text: str) -> list[RawBlock]:
    """Join a paragraph to the previous block when the sentence visibly runs on.

    Layout cues (a sidebar, a figure, a page break with a footnote) can cut a
    paragraph in two (so can a footnote mark raised above the line). When a
    paragraph starts in lower case or with punctuation right after a block
    that did not end a sentence, on the same or the next page, it is the rest
    of that block.
    """
    out: list[RawBlock] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and block.kind == "paragraph"
            and prev.kind in ("paragraph", "list_item")
            and (block.text[:1].islower() or block.text[:1] in ".,;:)]”’")
            and not _ends_sentence(prev.text)
            and (prev.page is None or block.page is None or 0 <= block.page - prev.page <= 1)
        ):
            prev.ocr_confidence = _joined_confidence(prev, block)
            prev.text = join_hyphenated(prev.text, block.text, vocabulary_text)
            continue
        out.append(block)
    return out


def _joined_confidence(a: RawBlock, b: RawBlock) -> float | None:
    """OCR confidence of two blocks joined into one: the word-weighted mean of those read by OCR."""
    parts = [(blk.ocr_confidence, len(blk.text.split())) for blk in (a, b) if blk.ocr_confidence is not None]
    words = sum(n for _, n in parts)
    if not parts or words == 0:
        return parts[0][0] if parts else None
    return round(sum(c * n for c, n in parts) / words, 4)


# --------------------------------------------------------------------------- running headers and footers

OCR_VARIANT_SIMILARITY = 0.85
"""An OCR margin line this similar to a margin line of another page is the same running line."""


def _in_margin(ln: _Line, height: float) -> bool:
    return ln.bottom >= (1 - MARGIN) * height or ln.top <= MARGIN * height


def _header_keys(pages: list[PageLayout]) -> dict[int, str]:
    """The digit-masked key of every line (by ``id``), with OCR variants of margin lines merged.

    OCR reads the same running header a little differently from page to page
    ("Greyfield" on one, "Greyfieid" on the next), and exact keys would then
    keep it. A margin line read by OCR whose key is new takes the key of an
    earlier margin line (of a text or a scanned page) within a small edit
    distance (similarity :data:`OCR_VARIANT_SIMILARITY`); text-layer lines
    keep exact keys, so two different text-layer headers are never merged.
    """
    keys: dict[int, str] = {}
    seen: dict[str, None] = {}  # margin keys met so far, in order
    for page in pages:
        for ln in page.lines:
            key = _normalise_header(ln.text)
            if _in_margin(ln, page.height):
                if ln.ocr is not None and key not in seen:
                    key = _ocr_variant_of(key, seen) or key
                seen.setdefault(key, None)
            keys[id(ln)] = key
    return keys


def _ocr_variant_of(key: str, known: Iterable[str]) -> str | None:
    """The first of ``known`` that ``key`` is an OCR misreading of, or None."""
    if len(key) < 4:
        return None
    for other in known:
        if abs(len(other) - len(key)) > 0.15 * len(key):
            continue
        matcher = SequenceMatcher(None, key, other, autojunk=False)
        if matcher.quick_ratio() >= OCR_VARIANT_SIMILARITY and matcher.ratio() >= OCR_VARIANT_SIMILARITY:
            return other
    return None


def _position_key(ln: _Line, height: float) -> tuple[str, int]:
    """Where a line sits, measured from the nearer page edge (4-point steps)."""
    if ln.top >= height / 2:
        return ("top", round((height - ln.top) / 4))
    return ("bottom", round(ln.bottom / 4))


def _page_numbers(occurrences: list[tuple[int, tuple[int, ...]]]) -> bool:
    """Whether the numbers in a repeated line are page numbers (or never change).

    Digits are masked to find "Page 3" and "Page 4" as one line; but a line
    whose numbers vary without following the page ("Sample size: 374" under
    each chart) says something different each time: it is content.
    """
    values = {nums for _, nums in occurrences}
    if len(values) <= 1:
        return True
    width = min(len(nums) for _, nums in occurrences)
    for k in range(width):
        offsets = Counter(nums[k] - page for page, nums in occurrences)
        if offsets.most_common(1)[0][1] >= 0.6 * len(occurrences):
            return True
    return False


def _has_neighbour(ln: _Line, lines: list[_Line]) -> bool:
    """Whether another line shares this line's baseline (a number beside text is a line number)."""
    return any(
        o is not ln and min(o.top, ln.top) - max(o.bottom, ln.bottom) > 0.5 * min(o.height, ln.height)
        for o in lines
    )


def drop_running_lines(pages: list[PageLayout]) -> None:
    """Remove running headers, footers and bare page numbers in place.

    A line (digit-masked, so "Page 3" and "Page 4" are the same line) is
    running text when, in the top or bottom margins, it recurs on 40% of the
    pages, or on 40% of the odd or of the even pages (books alternate their
    headers), or at the same place on three pages (a chapter's running
    header), provided that most of the pages that show it show it in a margin
    (a form's field label near the edge of some pages is content). Once known,
    a running line is dropped wherever it sits, also where a page puts it
    inside the text flow, unless it is set larger than body text there (a
    title or heading with the same words). Bare page
    numbers in the margins are dropped too, unless text sits beside them
    (line numbers). Margin lines read by OCR match by similarity as well
    (see :func:`_header_keys`).
    """
    n_pages = len(pages)
    keys = _header_keys(pages)
    counts: Counter[str] = Counter()
    everywhere: Counter[str] = Counter()
    numbers: dict[str, list[tuple[int, tuple[int, ...]]]] = defaultdict(list)
    parity: Counter[tuple[str, int]] = Counter()
    placed: Counter[tuple[str, tuple[str, int]]] = Counter()
    for page in pages:
        h = page.height
        seen: set[str] = set()
        seen_placed: set[tuple[str, tuple[str, int]]] = set()
        everywhere.update({keys[id(ln)] for ln in page.lines})
        for ln in page.lines:
            if _in_margin(ln, h):
                norm = keys[id(ln)]
                numbers[norm].append((page.number, tuple(int(d) for d in re.findall(r"\d+", ln.text)[:4])))
                seen.add(norm)
                seen_placed.add((norm, _position_key(ln, h)))
        counts.update(seen)
        parity.update((norm, page.number % 2) for norm in seen)
        placed.update(seen_placed)
    n_odd = (n_pages + 1) // 2
    n_even = n_pages // 2
    threshold = max(2, int(0.4 * n_pages + 0.5))
    running: set[str] = set()
    if n_pages >= 2:
        running |= {norm for norm, c in counts.items() if c >= threshold}
    if n_pages >= 4:
        running |= {
            norm
            for (norm, odd), c in parity.items()
            if c >= max(2, int(0.4 * (n_odd if odd else n_even) + 0.5))
        }
        running |= {norm for (norm, _), c in placed.items() if c >= 3}
    # A running line lives in the margins: a form's label ("Not started") that a page
    # happens to put near its edge, but that fills the pages' bodies too, is content.
    running = {
        norm
        for norm in running
        if norm and norm != "#" and counts[norm] >= 0.6 * everywhere[norm] and _page_numbers(numbers[norm])
    }
    sizes = [ln.size for p in pages for ln in p.lines if len(ln.text) > 30]
    body_size = statistics.median(sizes) if sizes else 0.0
    for page in pages:
        h = page.height
        keep = []
        for ln in page.lines:
            in_margin = _in_margin(ln, h)
            if in_margin and _PAGE_NUM.match(ln.text) and not _has_neighbour(ln, page.lines):
                continue
            if keys[id(ln)] in running:
                # Inside the text flow, the same words set as a heading are the heading, not the header.
                heading = ln.size > 1.15 * body_size
                if in_margin or (not heading and len(ln.text.split()) <= 12):
                    continue
            keep.append(ln)
        page.lines = keep


# --------------------------------------------------------------------------- the document


def parse_pdf(
    path: Path,
    *,
    max_pages: int | None = None,
    fill_page: PageFiller | None = None,
) -> ReadResult:
    """Read a PDF into blocks with page numbers.

    ``fill_page`` (see :data:`PageFiller`) sees every page's text-layer
    layout, one page at a time, and may return another layout for it (an OCR
    step: :func:`cocreation_nlp.readers.ocr.read_pdf`); a replacement that
    holds no text does not displace a text layer that has some. Without it
    pages without a text layer are left empty.

    Raises:
        InputError: encrypted (password) or corrupt files.
        EmptyDocumentError: a PDF with no text on any page (a scan, where nothing read it).
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
        pages: list[PageLayout] = []
        textless: list[int] = []
        for i in range(n_pages if max_pages is None else min(n_pages, max_pages)):
            layout = read_page_layout(pdf, i)
            filled = fill_page(pdf, layout) if fill_page is not None else None
            if filled is not None and (filled.has_text or not layout.has_text):
                layout = filled
            if not layout.has_text:
                textless.append(i + 1)
            pages.append(layout)
    finally:
        pdf.close()
    if len(textless) == len(pages):
        raise EmptyDocumentError(
            str(path),
            f"no text layer on any of its {n_pages} page(s): a scanned PDF, read without OCR",
        )
    drop_running_lines(pages)
    ordered: list[_Line] = []
    for page in pages:
        page_lines = _order_columns(page.lines, page.width)
        _mark_tables(page_lines)
        ordered.extend(page_lines)
    vocabulary_text = "\n".join(ln.text for ln in ordered).lower()
    blocks = _build_blocks(ordered, vocabulary_text)
    return ReadResult(blocks=blocks, n_pages=n_pages, textless_pages=textless)
