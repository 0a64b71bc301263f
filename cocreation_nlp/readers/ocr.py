"""OCR of PDF pages without a usable text layer: pypdfium2 renders, Tesseract (through tesserocr) reads.

Scanned reports, signed agreements and council minutes reach policy archives
as image-only pages. This module turns one such page into text lines with
boxes in PDF coordinates (points, y upwards), so that the PDF reader can treat
them exactly like the lines of its text layer: running headers, page numbers,
columns, tables and paragraphs are then handled once, for both kinds of page.
It plugs into the reader through its page hook (:func:`read_pdf` passes
:meth:`DocumentOcr.fill_page` as ``parse_pdf(fill_page=...)``), page by page,
so a mixed PDF keeps its text pages and recovers its scanned ones.

Choices, each measured with ``benchmarks/ocr.py`` on generated scans (figures
in the README's performance section):

- Binding: tesserocr keeps one Tesseract engine per language loaded in each
  worker process and is handed the rendered bitmap in memory. pytesseract
  starts a ``tesseract`` process per page (model load, image written to disk
  and read back) and read about half as many pages per second; ocrmypdf
  writes a new PDF with a text layer, spends seconds of start-up on every
  document and reports no word confidences. All three read the same words.
- Resolution: pages are rendered at :data:`DEFAULT_DPI` (150). On scans
  made at 150, 200 and 300 dpi, a noisy scan and 7 pt print, rendering at
  150 and at 200 dpi gave the same word recall (mean 0.997 and 0.996, lowest
  0.989 and 0.988, on the 7 pt print) and 300 dpi less (mean 0.985:
  upsampling a 150-200 dpi scan magnifies its noise); 150 dpi has 0.56 times the
  pixels of 200 and read 1.2 times as many pages per second.
- Binarisation: Tesseract's Sauvola thresholding. With its default (Otsu),
  a noisy scan lost whole paragraphs to layout analysis (recall 0.86).
- Language: the manifest's ``language`` when its Tesseract data is
  installed. Otherwise the first page is read with the English model, the
  language is identified from that text among the installed ones (6 of 6
  right, as with a pass using all six models together, which costs 1.5 times
  as much) and, when it is not English, the page is read again with that
  language's model, which the later pages use: read with the English model,
  German loses a quarter of its words (umlauts, eszett).

Nothing here keeps a page image longer than one recognition: the bitmap is
freed as soon as Tesseract has its copy, so memory per worker stays at one
page plus the loaded language models.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import EmptyDocumentError
from ..types import PageWarning
from ..util import language_code
from . import ReadResult
from .pdf import PageLayout, parse_pdf, recognised_line

DEFAULT_DPI = 150
"""Render resolution for OCR (chosen by measurement, see the module docstring)."""
MAX_PIXELS = 40_000_000
"""A page larger than this at DEFAULT_DPI (a poster, a plan) is rendered at a lower resolution."""
LOW_CONFIDENCE = 0.80
"""A page whose mean word confidence is below this gets a warning; its text is kept."""
MIN_WORD_CONFIDENCE = 0.30
"""Short words below this confidence are dropped: specks, rules and stamps read as punctuation.

A word of three or more letters or digits is kept whatever its confidence:
Tesseract gives e-mail addresses and web links a confidence of 0 while
reading them correctly."""
PAGE_TIMEOUT_S = 120
"""A page Tesseract has not read after this many seconds is given up (with a warning)."""
MIN_TEXT_CHARS = 50
"""A page with fewer characters than this in its text layer and a page-sized image is a scan."""

# ISO 639-1 (manifest ``language``, py3langid) -> Tesseract language data.
TESSERACT_CODES: dict[str, str] = {
    "en": "eng",
    "fr": "fra",
    "de": "deu",
    "es": "spa",
    "it": "ita",
    "nl": "nld",
    "pt": "por",
    "da": "dan",
    "sv": "swe",
    "pl": "pol",
}
FIRST_PASS_LANGUAGES = ("en", "fr", "de", "es", "it", "nl")
"""The languages of the toolkit's lexicons: the language of a document is identified among those installed."""
_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/usr/local/share/tesseract-ocr/tessdata",
    "/opt/homebrew/share/tessdata",
)
_HAS_ALNUM = re.compile(r"[^\W_]{2,}|\d")
_WORDLIKE = re.compile(r"[^\W_]{3,}")


class OcrUnavailable(RuntimeError):
    """Tesseract or its language data is not installed: says what to install."""


@dataclass(slots=True)
class OcrLine:
    """One recognised text line, in PDF coordinates of the page (points, origin bottom-left).

    ``confidences`` are Tesseract's word confidences (0-1), one per word of
    ``text``; ``size`` stands in for the font size (points), which the reader
    compares between lines to find headings.
    """

    x0: float
    bottom: float
    x1: float
    top: float
    text: str
    confidences: list[float]
    size: float = 0.0


@dataclass(slots=True)
class OcrPage:
    """What OCR made of one page: its lines, and why there are none where that happened."""

    page_no: int
    lines: list[OcrLine] = field(default_factory=list)
    language: str = ""
    dpi: float = 0.0
    seconds: float = 0.0
    problem: str = ""  # a warning kind: "ocr-blank-page", "ocr-no-text", "ocr-corrupt-image", ...
    message: str = ""

    @property
    def n_words(self) -> int:
        """Words kept on the page."""
        return sum(len(ln.confidences) for ln in self.lines)

    @property
    def mean_confidence(self) -> float | None:
        """Mean word confidence (0-1) of the kept words; None when none was kept."""
        confs = [c for ln in self.lines for c in ln.confidences]
        return sum(confs) / len(confs) if confs else None


OCR_MODES = ("auto", "never", "always")


@dataclass(frozen=True, slots=True)
class OcrSettings:
    """How a document's pages are sent to OCR.

    ``mode``: ``auto`` reads pages without a usable text layer, ``always``
    every page (for PDFs whose text layer is garbage), ``never`` none (scanned
    pages are then reported and skipped). ``language``: the manifest's ISO
    639-1 code, or "" to identify it from the first page read.
    """

    mode: str = "auto"
    language: str = ""

    def __post_init__(self) -> None:
        if self.mode not in OCR_MODES:
            raise ValueError(f"OCR mode must be one of {', '.join(OCR_MODES)}; got {self.mode!r}")


# --------------------------------------------------------------------------
# Progress: long OCR runs show which page is being read.

_progress: Callable[[str, int, int], None] | None = None


def set_progress(callback: Callable[[str, int, int], None] | None) -> None:
    """Call ``callback(source, page_no, n_pages)`` before each page is recognised (None to stop).

    A module-level hook rather than an argument so that it can be installed
    once per worker process (the pool's initializer) without threading a
    callable, which would not pickle, through every reader call.
    """
    global _progress
    _progress = callback


@contextmanager
def progress_to(callback: Callable[[str, int, int], None] | None) -> Iterator[None]:
    """Install a progress callback for the duration of a ``with`` block."""
    previous = _progress
    set_progress(callback)
    try:
        yield
    finally:
        set_progress(previous)


# --------------------------------------------------------------------------
# Engine


@lru_cache(maxsize=1)
def tessdata_dir() -> Path | None:
    """Folder of Tesseract's ``*.traineddata``: ``$TESSDATA_PREFIX``, else the usual system places."""
    env = os.environ.get("TESSDATA_PREFIX")
    candidates = ([env, str(Path(env) / "tessdata")] if env else []) + list(_TESSDATA_CANDIDATES)
    for cand in candidates:
        if cand and any(Path(cand).glob("*.traineddata")):
            return Path(cand)
    return None


@lru_cache(maxsize=1)
def installed_languages() -> tuple[str, ...]:
    """ISO codes of the languages whose Tesseract data is installed (of those the toolkit maps)."""
    folder = tessdata_dir()
    if folder is None:
        return ()
    have = {p.stem for p in folder.glob("*.traineddata")}
    return tuple(iso for iso, code in TESSERACT_CODES.items() if code in have)


def check_available() -> None:
    """Raise :class:`OcrUnavailable` naming what to install when OCR cannot run here."""
    try:
        import tesserocr  # noqa: F401
    except ImportError as err:
        raise OcrUnavailable(
            "the tesserocr package is not installed (pip install tesserocr, or re-run scripts/setup.sh)"
        ) from err
    if tessdata_dir() is None or not installed_languages():
        raise OcrUnavailable(
            "no Tesseract language data found (on Debian/Ubuntu: apt-get install tesseract-ocr "
            "tesseract-ocr-eng tesseract-ocr-fra ...; elsewhere set TESSDATA_PREFIX to the tessdata folder)"
        )


@lru_cache(maxsize=3)
def _engine(codes: str):  # noqa: ANN202 - tesserocr.PyTessBaseAPI
    """One loaded Tesseract engine per language combination, kept for the life of the process.

    Loading a language model takes longer than reading a page, so workers
    keep the few they use (the first-pass combination and one or two single
    languages).
    """
    import tesserocr

    api = tesserocr.PyTessBaseAPI(
        path=str(tessdata_dir()), lang=codes, psm=tesserocr.PSM.AUTO, oem=tesserocr.OEM.LSTM_ONLY
    )
    # Sauvola binarisation: with Otsu, speckled scans sometimes lose whole paragraphs (measured).
    api.SetVariable("thresholding_method", "2")
    return api


def _skew(api, level_line) -> float:  # noqa: ANN001
    """Median baseline angle (radians, image coordinates) of the page's longer lines."""
    import tesserocr

    it = api.GetIterator()
    if it is None:
        return 0.0
    angles = []
    for line in tesserocr.iterate_level(it, level_line):
        base = line.Baseline(level_line)
        if not base:
            continue
        (xa, ya), (xb, yb) = base
        if xb - xa > 150:
            angles.append(math.atan2(yb - ya, xb - xa))
    return statistics.median(angles) if angles else 0.0


def recognise_image(
    buffer: bytes, width: int, height: int, stride: int, *, languages: str, ppi: int
) -> tuple[list[tuple[float, float, float, float, str, list[float]]], bool]:
    """Recognise a greyscale image; return its text lines in deskewed pixel coordinates, and success.

    Each line is ``(x0, y0, x1, y1, text, word_confidences)`` with y growing
    downwards. A scanned page is seldom straight: word boxes are rotated back
    by the page's median baseline angle so that the lines of a paragraph come
    out level and evenly spaced, as the reader's layout rules expect.
    """
    import tesserocr

    api = _engine(languages)
    api.SetImageBytes(buffer, width, height, 1, stride)
    api.SetSourceResolution(ppi)
    ok = api.Recognize(timeout=PAGE_TIMEOUT_S * 1000)
    if not ok:
        api.Clear()
        return [], False
    rw, rl = tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE
    theta = _skew(api, rl)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    cx, cy = width / 2, height / 2

    def level(x: float, y: float) -> tuple[float, float]:
        # Rotate a point by -theta about the page centre: the page as if scanned straight.
        mx, my = x - cx, y - cy
        return cx + mx * cos_t + my * sin_t, cy - mx * sin_t + my * cos_t

    lines: list[tuple[float, float, float, float, str, list[float]]] = []
    words: list[tuple[float, float, float, float, str, float]] = []
    row: tuple[float, float, float] | None = None  # levelled baseline y, row height, descenders

    def emit(kept: list[tuple[float, float, float, float, str, float]]) -> None:
        if not any(_HAS_ALNUM.search(w[4]) for w in kept):
            return
        if row is not None and row[1] > 2:
            # Tesseract's row metrics (ascender and descender lines) give every line of
            # one font the same height, whatever letters it holds: the reader finds
            # headings by height, which word boxes alone make noisy.
            top, bottom = row[0] - row[1], row[0] - row[2]
        else:
            top, bottom = min(w[1] for w in kept), max(w[3] for w in kept)
        lines.append(
            (
                min(w[0] for w in kept),
                top,
                max(w[2] for w in kept),
                bottom,
                " ".join(w[4] for w in kept),
                [w[5] for w in kept],
            )
        )

    def close_line() -> None:
        kept = [w for w in words if w[5] >= MIN_WORD_CONFIDENCE or _WORDLIKE.search(w[4])]
        words.clear()
        if not kept:
            return
        # A wide gap between two words splits the line, as the reader splits text-layer lines
        # (a header with the title on the left and the publisher on the right is two lines).
        height = statistics.median(w[3] - w[1] for w in kept)
        start = 0
        for i in range(1, len(kept)):
            if kept[i][0] - kept[i - 1][2] > max(1.6 * height, 12 * ppi / 72):
                emit(kept[start:i])
                start = i
        emit(kept[start:])

    it = api.GetIterator()
    if it is not None:
        for word in tesserocr.iterate_level(it, rw):
            if word.IsAtBeginningOf(rl):
                close_line()
                row = None
                base = word.Baseline(rl)
                attrs = word.RowAttributes() or {}
                if base and attrs:
                    (xa, ya), (xb, yb) = base
                    _, by = level((xa + xb) / 2, (ya + yb) / 2)
                    row = (by, float(attrs.get("row_height", 0.0)), float(attrs.get("descenders", 0.0)))
            try:
                text = (word.GetUTF8Text(rw) or "").strip()
            except RuntimeError:  # tesserocr raises on a word without text (a speck)
                continue
            box = word.BoundingBox(rw)
            if not text or not box:
                continue
            x0, y0, x1, y1 = box
            rx, ry = level((x0 + x1) / 2, (y0 + y1) / 2)
            hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
            words.append((rx - hw, ry - hh, rx + hw, ry + hh, text, word.Confidence(rw) / 100.0))
        close_line()
    api.Clear()
    return lines, True


# --------------------------------------------------------------------------
# Pages


def image_coverage(page) -> float:  # noqa: ANN001 - PdfPage
    """Share of the page's area covered by image objects (overlaps counted once per object, capped at 1)."""
    import pypdfium2.raw as pdfium_c

    w, h = page.get_size()
    if w <= 0 or h <= 0:
        return 0.0
    area = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        x0, y0, x1, y1 = obj.get_bounds()
        area += max(0.0, min(x1, w) - max(x0, 0.0)) * max(0.0, min(y1, h) - max(y0, 0.0))
    return min(1.0, area / (w * h))


def needs_ocr(page, n_text_chars: int, mode: str) -> bool:  # noqa: ANN001 - PdfPage
    """Whether a page goes to OCR: always, never, or (auto) when it has no usable text layer.

    In ``auto`` mode a page is a scan when its text layer is empty or nearly
    so (fewer than :data:`MIN_TEXT_CHARS` characters: a stamp, a page number)
    and images cover a good part of it. A page with no text and no image (an
    empty page, a chart drawn in vector paths) is not sent: there is nothing
    for OCR to read.
    """
    if mode == "never":
        return False
    if mode == "always":
        return True
    if n_text_chars >= MIN_TEXT_CHARS:
        return False
    coverage = image_coverage(page)
    return coverage >= 0.10 if n_text_chars == 0 else coverage >= 0.5


def _render_dpi(page) -> float:  # noqa: ANN001
    w, h = page.get_size()
    dpi = float(DEFAULT_DPI)
    pixels = (w * dpi / 72) * (h * dpi / 72)
    if pixels > MAX_PIXELS:
        dpi *= math.sqrt(MAX_PIXELS / pixels)
    return dpi


def _dark_share(buffer: bytes) -> float:
    import numpy as np

    arr = np.frombuffer(buffer, dtype=np.uint8)
    return float((arr < 128).mean()) if arr.size else 0.0


def _broken_images(page) -> int:  # noqa: ANN001
    """Number of image objects on the page that PDFium cannot decode."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    broken = 0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        try:
            bitmap = obj.get_bitmap()
            bitmap.close()
        except (pdfium.PdfiumError, OSError, ValueError):
            broken += 1
    return broken


# Tesseract's row (ascender line to descender line, padded) against the same line in a text
# layer, measured on generated scans of 8.5-13 pt Times and Helvetica lines: PDFium's text
# rectangle is 1/1.31 of the row's height and shares its bottom; the font size is 1/1.18 of it.
_ROW_TO_RECT = 1 / 1.31
_ROW_TO_FONT_SIZE = 1 / 1.18


def _snap_sizes(lines: list[OcrLine], tolerance: float = 0.12) -> None:
    """Set each line's ``size``: its font size, snapped to the page's body size when within ``tolerance``.

    Tesseract's row metrics vary by a few per cent between lines of one font,
    most on short lines; the reader treats a line 4% larger than the body as
    a heading (true of a text layer's exact font sizes). Headings are set
    15% or more larger, so snapping the small deviations keeps them apart.
    """
    if not lines:
        return
    sizes = [ln.size for ln in lines if len(ln.confidences) >= 5] or [ln.size for ln in lines]
    body = statistics.median(sizes)
    for ln in lines:
        if abs(ln.size / body - 1) <= tolerance:
            ln.size = body


class DocumentOcr:
    """OCR state of one document: which pages go to OCR, its language (given or identified once), its warnings.

    Args:
        source: The file, for progress and messages.
        settings: Mode and manifest language.
        n_pages: Pages of the document, for progress.
    """

    def __init__(self, source: str, settings: OcrSettings = OcrSettings(), n_pages: int = 0) -> None:
        self.source = source
        self.settings = settings
        self.n_pages = n_pages
        self.unavailable = ""
        self.warnings: list[PageWarning] = []
        self.pages_read = 0
        self.seconds = 0.0
        self._codes = ""
        self._first_pass = ""
        self._missing_language = ""
        self.language = ""
        want = language_code(settings.language)  # "en_GB", "EN" -> "en"; "" -> "und"
        have = installed_languages()
        if want and want in have:
            self.language = want
            self._codes = TESSERACT_CODES[want]
        elif want and want in TESSERACT_CODES:
            self._missing_language = want
        if not self._codes:
            # The first pass reads with one Latin-script model (English where installed): its text
            # identifies the language as reliably as a pass with all six models together, at about
            # half the cost, and an English document needs no second pass (benchmarks/ocr.py).
            first = [iso for iso in FIRST_PASS_LANGUAGES if iso in have]
            self._first_pass = TESSERACT_CODES[first[0]] if first else ""

    def wants(self, page, page_no: int, n_text_chars: int) -> bool:  # noqa: ANN001 - PdfPage
        """Whether this page is to be recognised; records why a page that needs OCR is not read.

        With ``never``, or where Tesseract is missing, a page that ``auto``
        would read gets a warning instead, so that a silently lost page shows
        up in errors.csv.
        """
        if self.settings.mode == "always":
            wanted = True
        else:
            wanted = needs_ocr(page, n_text_chars, "auto")
            if wanted and self.settings.mode == "never":
                self.warnings.append(
                    PageWarning(
                        page_no,
                        "ocr-skipped",
                        f"page {page_no} has no usable text layer (a scanned page?) and OCR is off "
                        "(--ocr never); the page is skipped",
                    )
                )
                return False
        if wanted and not self.unavailable:
            try:
                check_available()
            except OcrUnavailable as err:
                self.unavailable = str(err)
        if wanted and self.unavailable:
            self.warnings.append(
                PageWarning(
                    page_no,
                    "ocr-unavailable",
                    f"page {page_no} needs OCR, which cannot run: {self.unavailable}",
                )
            )
            return False
        return wanted

    def _languages(self) -> str:
        return self._codes or self._first_pass

    def fill_page(self, pdf, layout: PageLayout) -> PageLayout | None:  # noqa: ANN001 - PdfDocument
        """The PDF reader's page hook: a page that needs OCR, recognised into the reader's lines.

        Returns None (keep the text layer) for a page that does not go to
        OCR. The page is opened here, rendered, recognised and closed again,
        so one page image at most is in memory at a time.
        """
        self.n_pages = len(pdf)
        if self.settings.mode != "always" and layout.text_chars >= MIN_TEXT_CHARS:
            return None  # a usable text layer (needs_ocr's first test): the page is not loaded again
        page = pdf[layout.number - 1]
        try:
            if not self.wants(page, layout.number, layout.text_chars):
                return None
            result = self.recognise(page, layout.number)
        finally:
            page.close()
        return PageLayout(
            layout.number,
            layout.width,
            layout.height,
            lines=[
                recognised_line(
                    ln.x0,
                    ln.x1,
                    ln.bottom,
                    ln.top,
                    ln.text,
                    layout.number,
                    size=ln.size,
                    confidences=ln.confidences,
                )
                for ln in result.lines
            ],
            n_chars=sum(len(ln.text) for ln in result.lines),
        )

    def no_text_cause(self, n_pages: int) -> str:
        """Why a PDF gave no text at all, in words that say what to do."""
        kinds = {w.kind for w in self.warnings}
        if "ocr-skipped" in kinds:
            return (
                f"no text layer on any of its {n_pages} page(s): a scanned PDF, and OCR is off (--ocr never)"
            )
        if "ocr-unavailable" in kinds:
            return f"no text layer on any of its {n_pages} page(s), and OCR cannot run: {self.unavailable}"
        if self.pages_read:
            causes = "; ".join(w.message for w in self.warnings[:3])
            return f"no text found on any of its {n_pages} page(s), OCR included ({causes})"
        return f"no text on any of its {n_pages} page(s) (no text layer and no scanned image to read)"

    def recognise(self, page, page_no: int) -> OcrPage:  # noqa: ANN001 - PdfPage
        """Read one page; the result's ``problem`` names why it holds no lines, where it holds none."""
        if self._missing_language and not self.warnings_of("ocr-language-missing"):
            iso = self._missing_language
            self.warnings.append(
                PageWarning(
                    page_no,
                    "ocr-language-missing",
                    f"no Tesseract data for the manifest's language {iso!r} "
                    f"(install tesseract-ocr-{TESSERACT_CODES[iso]}); read with {self._first_pass} instead",
                )
            )
        if _progress is not None:
            _progress(self.source, page_no, self.n_pages)
        t0 = time.perf_counter()
        result = OcrPage(page_no=page_no, language=self._languages())
        try:
            result = self._recognise(page, page_no, result)
        finally:
            result.seconds = time.perf_counter() - t0
            self.seconds += result.seconds
            self.pages_read += 1
        if result.problem:
            self.warnings.append(PageWarning(page_no, result.problem, result.message))
        elif (conf := result.mean_confidence) is not None and conf < LOW_CONFIDENCE:
            self.warnings.append(
                PageWarning(
                    page_no,
                    "ocr-low-confidence",
                    f"page {page_no}: mean OCR word confidence {conf:.2f} is below {LOW_CONFIDENCE:.2f}; "
                    "its text is kept, check its passages",
                )
            )
        return result

    def warnings_of(self, kind: str) -> list[PageWarning]:
        """This document's warnings of one kind."""
        return [w for w in self.warnings if w.kind == kind]

    def _recognise(self, page, page_no: int, result: OcrPage) -> OcrPage:  # noqa: ANN001
        import pypdfium2 as pdfium

        dpi = _render_dpi(page)
        result.dpi = dpi
        try:
            bitmap = page.render(scale=dpi / 72, grayscale=True, may_draw_forms=True)
        except pdfium.PdfiumError as err:
            result.problem = "ocr-render-failed"
            result.message = f"page {page_no}: PDFium could not render the page ({err})"
            return result
        try:
            width, height, stride = bitmap.width, bitmap.height, bitmap.stride
            buffer = bytes(bitmap.buffer)
        finally:
            bitmap.close()
        dark = _dark_share(buffer)
        codes = self._languages()
        try:
            lines, ok = recognise_image(buffer, width, height, stride, languages=codes, ppi=round(dpi))
            if ok and not self._codes and self._identify_language(lines):
                # The first pass told the language: read the page again with that language's model.
                codes = self._codes
                if codes != result.language:
                    lines, ok = recognise_image(
                        buffer, width, height, stride, languages=codes, ppi=round(dpi)
                    )
        except RuntimeError as err:  # tesserocr's way of reporting an engine failure
            result.problem = "ocr-failed"
            result.message = f"page {page_no}: Tesseract failed on the page ({err}); the page is skipped"
            return result
        finally:
            del buffer  # the page image is not kept past recognition
        result.language = codes
        if not ok:
            result.problem = "ocr-timeout"
            result.message = (
                f"page {page_no}: Tesseract gave up after {PAGE_TIMEOUT_S} s; the page is skipped"
            )
            return result
        scale = 72 / dpi
        # Pixels (y down) -> PDF points (y up), in the page's displayed orientation.
        h_disp = height * scale
        for x0, y0, x1, y1, text, confs in lines:
            # Same geometry as a text layer's line: bottom at the descender line, rectangle
            # height and font size as PDFium reports them, so that text pages and scanned
            # pages of one document share body height, line gaps and heading sizes.
            row = (y1 - y0) * scale
            bottom = h_disp - y1 * scale
            result.lines.append(
                OcrLine(
                    x0 * scale,
                    bottom,
                    x1 * scale,
                    bottom + row * _ROW_TO_RECT,
                    text,
                    confs,
                    row * _ROW_TO_FONT_SIZE,
                )
            )
        _snap_sizes(result.lines)
        if not result.lines:
            if dark < 0.002:
                broken = _broken_images(page)
                if broken:
                    result.problem = "ocr-corrupt-image"
                    result.message = (
                        f"page {page_no}: {broken} image(s) on the page cannot be decoded (corrupt or "
                        "unsupported image data); the page is skipped"
                    )
                else:
                    result.problem = "ocr-blank-page"
                    result.message = f"page {page_no}: the scanned page is blank"
            else:
                result.problem = "ocr-no-text"
                result.message = (
                    f"page {page_no}: no text recognised on an image-only page (a photo, a drawing or "
                    "a page too degraded to read?); the page is skipped"
                )
            return result
        return result

    def _identify_language(self, lines: list[tuple]) -> bool:
        """After a first-pass page: fix the document's OCR language from its text, when there is enough.

        Returns whether the language is now fixed. With too little text (a
        cover page) the next page is read with the first-pass model again.
        """
        text = " ".join(ln[4] for ln in lines)
        if len(text.split()) < 30:
            return False
        import py3langid

        iso, _ = py3langid.classify(text)
        if iso not in installed_languages():
            iso = [i for i in FIRST_PASS_LANGUAGES if i in installed_languages()][0]
        self.language = iso
        self._codes = TESSERACT_CODES[iso]
        return True


def read_pdf(
    path: Path, *, max_pages: int | None = None, settings: OcrSettings = OcrSettings()
) -> ReadResult:
    """Read a PDF with the PDF reader, its scanned pages (per ``settings``) by OCR.

    The result carries the page warnings (unreadable, low-confidence or
    skipped scanned pages) and the number of pages sent to OCR.

    Raises:
        InputError: encrypted (password) or corrupt files.
        EmptyDocumentError: no text on any page, OCR included, with the reason
            (OCR off, not installed, or nothing it could read).
    """
    reader = DocumentOcr(str(path), settings)
    try:
        result = parse_pdf(path, max_pages=max_pages, fill_page=reader.fill_page)
    except EmptyDocumentError as err:
        if not reader.n_pages:  # no page was reached (a PDF without pages)
            raise
        raise EmptyDocumentError(str(path), reader.no_text_cause(reader.n_pages)) from err
    result.warnings = list(reader.warnings)
    result.ocr_pages = reader.pages_read
    return result
