"""Synthetic scanned PDFs with known text, and word recall: how OCR is tested and measured.

Real scanned policy documents cannot ship with the tests (their text is not
known exactly, and most are not ours to redistribute), so the tests, the OCR
benchmark and the sample corpus make their own: text is laid out as a normal
PDF (running header, page footer, headings, paragraphs), each page is
rasterised at a scanner's resolution, tilted slightly, blurred and speckled
the way a flatbed scan of a printed page is, JPEG-compressed and wrapped as an
image-only page. The laid-out text layer of the original is the answer key.

Everything is seeded, so a given input gives the same bytes again (the sample
corpus depends on that). reportlab (the ``test`` and ``build-corpus`` extras)
is imported only where a PDF is written.
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "ʼ": "'"})


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """How a simulated scan degrades a page.

    The defaults resemble an office flatbed or a copier's scan-to-PDF of a
    printed report: 200 dpi greyscale, pages up to 1.2 degrees askew, a light
    blur, sensor noise, dust specks, greyish paper, JPEG at quality 70.
    """

    dpi: int = 200
    max_rotation: float = 1.2  # degrees, either way
    blur: float = 0.6  # Gaussian blur radius in pixels at ``dpi``
    noise: float = 10.0  # standard deviation of the pixel noise (0-255 scale)
    specks: float = 0.0004  # share of pixels flipped to dark dust
    paper: int = 238  # grey level of the paper
    ink: int = 30  # grey level of the darkest ink
    jpeg_quality: int = 70


@dataclass(frozen=True, slots=True)
class Block:
    """A heading or a paragraph of a generated document."""

    kind: str  # "heading" or "paragraph"
    text: str


def text_pdf(
    blocks: Sequence[Block],
    *,
    title: str,
    publisher: str,
    language: str = "en",
    serif: bool = True,
    page_size: str = "A4",
    font_size: float = 11.0,
) -> bytes:
    """Lay out ``blocks`` as a PDF (A4 or A5) with a text layer, a running header and "Page N of M" footers.

    ``font_size`` is the body text's (headings are 2 points larger).

    The header (title left, publisher right) and the footer are what a reader
    must drop as running text; the blocks are the body an OCR must recover.
    """
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import A4, A5
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Frame, PageTemplate, Paragraph
    from reportlab.platypus.doctemplate import BaseDocTemplate

    page_w, page_h = {"A4": A4, "A5": A5}[page_size]
    margin = 2.3 * cm if page_size == "A4" else 1.6 * cm
    font = "Times-Roman" if serif else "Helvetica"
    body = ParagraphStyle(
        "body",
        fontName=font,
        fontSize=font_size,
        leading=font_size * 1.36,
        alignment=TA_JUSTIFY,
        spaceAfter=8,
    )
    heading = ParagraphStyle(
        "heading",
        fontName="Helvetica-Bold",
        fontSize=font_size + 2,
        leading=(font_size + 2) * 1.3,
        spaceBefore=8,
        spaceAfter=6,
    )
    title_style = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=19, leading=24, spaceAfter=14)

    def header(canv: Canvas, _doc: object) -> None:
        canv.saveState()
        canv.setFont("Helvetica", 8.5)
        canv.drawString(margin, page_h - 1.3 * cm, title)
        canv.drawRightString(page_w - margin, page_h - 1.3 * cm, publisher)
        canv.setLineWidth(0.5)
        canv.line(margin, page_h - 1.45 * cm, page_w - margin, page_h - 1.45 * cm)
        canv.restoreState()

    class NumberedCanvas(Canvas):
        """Defers page output so that the footer can say 'Page N of M'."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._states: list[dict[str, object]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's API
            self._states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for state in self._states:
                self.__dict__.update(state)
                self.setFont("Helvetica", 8.5)
                self.drawCentredString(
                    page_w / 2, 1.2 * cm, f"Page {self._pageNumber} of {len(self._states)}"
                )
                super().showPage()
            super().save()

    buf = io.BytesIO()
    frame = Frame(margin, 2.2 * cm, page_w - 2 * margin, page_h - 4.6 * cm, leftPadding=0, rightPadding=0)
    doc = BaseDocTemplate(
        buf,
        pagesize=(page_w, page_h),
        invariant=1,
        title=title,
        author=publisher,
        lang=language,
        pageTemplates=[PageTemplate(id="page", frames=[frame], onPage=header)],
    )
    story: list[object] = [Paragraph(html.escape(title, quote=False), title_style)]
    for block in blocks:
        style = heading if block.kind == "heading" else body
        story.append(Paragraph(html.escape(block.text, quote=False), style))
    doc.build(story, canvasmaker=NumberedCanvas)
    return buf.getvalue()


def degrade(image, rng, settings: ScanSettings = ScanSettings()):  # noqa: ANN001, ANN201 - PIL images, numpy Generator
    """Make a clean greyscale page image look scanned: tilt, blur, grey paper, noise, dust.

    Args:
        image: A greyscale (mode "L") PIL image of the clean page.
        rng: A seeded ``numpy.random.Generator``.
        settings: How strong each effect is.
    """
    import numpy as np
    from PIL import Image, ImageFilter

    angle = float(rng.uniform(-settings.max_rotation, settings.max_rotation))
    tilted = image.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    if settings.blur > 0:
        tilted = tilted.filter(ImageFilter.GaussianBlur(settings.blur))
    arr = np.asarray(tilted, dtype=np.float32) / 255.0
    # Ink to paper: white becomes the paper grey, black the ink grey.
    arr = settings.ink + arr * (settings.paper - settings.ink)
    if settings.noise > 0:
        arr += rng.normal(0.0, settings.noise, size=arr.shape).astype(np.float32)
    if settings.specks > 0:
        mask = rng.random(arr.shape, dtype=np.float32) < settings.specks
        arr[mask] = rng.uniform(0, 90, size=int(mask.sum())).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")


def scan_pdf(pdf: bytes, *, seed: int = 0, settings: ScanSettings = ScanSettings()) -> bytes:
    """Return an image-only copy of ``pdf``: every page rasterised, degraded and wrapped as a JPEG.

    The result has no text layer at all, like the output of a scanner, and
    keeps each page's size. The same ``pdf``, ``seed`` and settings give the
    same bytes.
    """
    import numpy as np
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    rng = np.random.default_rng(seed)
    src = pdfium.PdfDocument(pdf)
    out = io.BytesIO()
    canv = Canvas(out, invariant=1)
    try:
        for i in range(len(src)):
            page = src[i]
            try:
                w, h = page.get_size()
                bitmap = page.render(scale=settings.dpi / 72, grayscale=True)
                clean = bitmap.to_pil().convert("L")
                bitmap.close()
            finally:
                page.close()
            scanned = degrade(clean, rng, settings)
            jpeg = io.BytesIO()
            scanned.save(jpeg, format="JPEG", quality=settings.jpeg_quality, optimize=False)
            canv.setPageSize((w, h))
            canv.drawImage(ImageReader(io.BytesIO(jpeg.getvalue())), 0, 0, width=w, height=h)
            canv.showPage()
    finally:
        src.close()
    canv.save()
    return out.getvalue()


def mix_pages(text: bytes, scanned: bytes, scanned_pages: Iterable[int]) -> bytes:
    """A PDF whose pages come from ``text`` except the 1-based ``scanned_pages``, taken from ``scanned``.

    This is the common archive case of a born-digital report with a few
    scanned pages (a signed agreement, an annex).
    """
    import pypdfium2 as pdfium

    wanted = set(scanned_pages)
    a, b = pdfium.PdfDocument(text), pdfium.PdfDocument(scanned)
    out = pdfium.PdfDocument.new()
    try:
        for i in range(len(a)):
            out.import_pages(b if i + 1 in wanted else a, [i])
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()
        a.close()
        b.close()


def page_texts(pdf: bytes) -> list[str]:
    """The text layer of each page of ``pdf`` (the answer key of its scanned copy)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            textpage.close()
            page.close()
        return texts
    finally:
        doc.close()


def words(text: str) -> list[str]:
    """Case-folded word tokens in Unicode NFC with one kind of apostrophe: what recall counts.

    Example:
        >>> words("L’équipe  co-design, 2024!")
        ["l'équipe", 'co', 'design', '2024']
    """
    norm = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).casefold()
    out: list[str] = []
    for tok in re.findall(r"\w+(?:'\w+)*", norm):
        out.append(tok)
    return out


def word_recall(reference: str, hypothesis: str) -> float:
    """Share of the reference's words found in the hypothesis, counted with multiplicity.

    Order is ignored (a reader may order blocks differently from the source),
    case is ignored, and accents count: "réunion" read as "reunion" is a miss.
    A missing reference word and a misread one both count as a miss.

    Example:
        >>> word_recall("the plan was agreed by the panel", "the plan was agreed by panel")
        0.8571428571428571
    """
    ref = Counter(words(reference))
    if not ref:
        raise ValueError("the reference text has no words")
    hyp = Counter(words(hypothesis))
    return sum(min(n, hyp[w]) for w in ref for n in (ref[w],)) / sum(ref.values())


def body_reference(pdf: bytes, *, margin: float = 51.0) -> list[str]:
    """Per-page body text of a :func:`text_pdf` document: its text layer without the running lines.

    The running header and the footer sit in the top and bottom ``margin``
    points (1.8 cm) of each page, the body below and above them.
    """
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            w, h = page.get_size()
            textpage = page.get_textpage()
            text = textpage.get_text_bounded(0, margin, w, h - margin)
            out.append(text.replace("\r\n", "\n").replace("\r", "\n"))
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()
