"""OCR of scanned PDF pages, on generated scans whose text is known.

The scans are made by cocreation_nlp.scans from the sample corpus's English
and French documents: laid out with a running header and "Page N of M"
footers, rasterised at 200 dpi, tilted, blurred, speckled and JPEG-compressed
into image-only pages. Each OCR page costs about a second, so the documents
are built once per module and kept short.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from cocreation_nlp.ingest import Source, read_document, read_one
from cocreation_nlp.readers.ocr import LOW_CONFIDENCE, DocumentOcr, OcrSettings, check_available
from cocreation_nlp.scans import (
    Block,
    ScanSettings,
    body_reference,
    mix_pages,
    page_texts,
    scan_pdf,
    text_pdf,
    word_recall,
    words,
)
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import ParseFailure

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DOCS = ROOT / "corpora" / "sample" / "docs"
EN = ("Listening to Residents", "Kestrel County Council")
FR = ("Plan local des solidarités", "Ville de Montclair")
FOOTER = re.compile(r"Page \d+ of \d+")


def _blocks(path: Path) -> list[Block]:
    """Headings and paragraphs of a sample-corpus text document, title block skipped."""
    paras = [" ".join(p.split()) for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    out = []
    for p in paras[3:]:
        p = p.lstrip("* ").strip()
        out.append(Block("heading" if len(p.split()) <= 6 and not p.endswith((".", ":")) else "paragraph", p))
    return out


@pytest.fixture(scope="module", autouse=True)
def _tesseract() -> None:
    # OCR is part of the toolkit: its absence is a broken install (scripts/setup.sh installs it), not a skip.
    check_available()


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> dict:
    text = text_pdf(_blocks(SAMPLE_DOCS / "kestrel-feedback-guidance-2019.txt"), title=EN[0], publisher=EN[1])
    folder = tmp_path_factory.mktemp("en")
    scanned = folder / "scan.pdf"
    scanned.write_bytes(scan_pdf(text, seed=1))
    return {"text": text, "scan": scanned, "reference": body_reference(text), "folder": folder}


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory) -> dict:
    text = text_pdf(
        _blocks(SAMPLE_DOCS / "montclair-plan-solidarites-2025.txt"),
        title=FR[0],
        publisher=FR[1],
        language="fr",
        page_size="A5",
    )
    scanned = tmp_path_factory.mktemp("fr") / "scan.pdf"
    scanned.write_bytes(scan_pdf(text, seed=2))
    return {"text": text, "scan": scanned, "reference": body_reference(text)}


@pytest.fixture(scope="module")
def english_doc(english: dict):
    # No manifest language: the language is identified from a first OCR pass.
    return read_document(Source(english["scan"], "en-scan"))


@pytest.fixture(scope="module")
def french_doc(french: dict):
    return read_document(Source(french["scan"], "fr-scan"))


def _running_lines_left(passages, reference: list[str], title: str, publisher: str) -> int:
    """How many more times the running header and footer occur in the passages than in the body text."""
    text = "\n".join([p.text for p in passages] + list(dict.fromkeys(p.heading for p in passages)))
    body = "\n".join(reference)
    extra = text.count(publisher) - body.count(publisher)
    return extra + len(FOOTER.findall(text)) + text.count(f"{title} {publisher}")


def _passage_text(passages) -> str:
    return " ".join(p.text for p in passages) + " " + " ".join(dict.fromkeys(p.heading for p in passages))


def test_generated_scans_have_no_text_layer(english: dict) -> None:
    # The test documents really are image-only: every word must come from OCR.
    scanned = english["scan"].read_bytes()
    assert len(english["reference"]) == 2
    assert all(not t.strip() for t in page_texts(scanned))
    assert sum(len(words(r)) for r in english["reference"]) > 400


def test_word_recall_counts_misreadings() -> None:
    assert word_recall("les réunions publiques", "les reunions publiques") == pytest.approx(2 / 3)
    assert word_recall("the the plan", "the plan") == pytest.approx(2 / 3)
    assert word_recall("Residents’ panel", "residents' PANEL") == 1.0


def test_english_scan_recall_pages_and_source(english: dict, english_doc) -> None:
    doc = english_doc
    passages = segment_document(doc)
    assert doc.ocr_pages == 2 and doc.n_pages == 2
    assert doc.language == "en"
    assert word_recall(" ".join(english["reference"]), _passage_text(passages)) >= 0.95
    assert {p.source for p in passages} == {"ocr"}
    assert all(0.5 < p.ocr_confidence <= 1.0 for p in passages)
    # Page numbers are kept: each passage's words are on the page it names.
    assert {p.page for p in passages} == {1, 2}
    for p in passages:
        on_page = word_recall(p.text, english["reference"][p.page - 1])
        assert on_page >= 0.9, (p.page, p.text[:80])


def test_running_headers_of_scanned_pages_are_removed(english: dict, english_doc) -> None:
    passages = segment_document(english_doc)
    # The running header (title left, publisher right) and the footer are on every page image.
    assert _running_lines_left(passages, english["reference"], *EN) == 0
    # The same PDF with its text layer gives the same passages, up to OCR's misreadings.
    text_path = english["folder"] / "text.pdf"
    text_path.write_bytes(english["text"])
    from_text = segment_document(read_document(Source(text_path, "en-text")))
    assert [p.page for p in passages] == [p.page for p in from_text]
    for a, b in zip(passages, from_text, strict=True):
        assert word_recall(b.text, a.text) >= 0.9
        assert b.source == "text" and b.ocr_confidence is None


def test_french_scan_language_accents_and_headers(french: dict, french_doc) -> None:
    doc = french_doc
    passages = segment_document(doc)
    assert doc.ocr_pages == len(french["reference"]) >= 2
    assert doc.language == "fr"
    # Accents count: read with the English model, "réunion" would come out as "reunion".
    assert word_recall(" ".join(french["reference"]), _passage_text(passages)) >= 0.95
    assert _running_lines_left(passages, french["reference"], *FR) == 0
    assert {p.page for p in passages} == set(range(1, doc.n_pages + 1))


def test_manifest_language_is_used(french: dict) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(french["scan"])
    try:
        reader = DocumentOcr(str(french["scan"]), OcrSettings(language="fr"), len(pdf))
        page = pdf[0]
        result = reader.recognise(page, 1)
        page.close()
    finally:
        pdf.close()
    assert result.language == "fra" and reader.language == "fr"
    # A manifest language without installed data falls back to identification, with a warning.
    other = DocumentOcr("x.pdf", OcrSettings(language="sv"))
    assert other.language == "" and other._first_pass == "eng"


@pytest.fixture(scope="module")
def mixed(english: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mixed") / "mixed.pdf"
    path.write_bytes(mix_pages(english["text"], english["scan"].read_bytes(), [2]))
    return path


def test_mixed_pdf_keeps_text_pages_and_recovers_the_scanned_one(english: dict, mixed: Path) -> None:
    doc = read_document(Source(mixed, "mixed", {"language": "en"}))
    passages = segment_document(doc)
    assert doc.ocr_pages == 1
    by_page = {page: {p.source for p in passages if p.page == page} for page in (1, 2)}
    assert by_page == {1: {"text"}, 2: {"ocr"}}
    assert word_recall(" ".join(english["reference"]), _passage_text(passages)) >= 0.95
    page2 = " ".join(p.text for p in passages if p.page == 2)
    assert word_recall(english["reference"][1], page2) >= 0.95
    assert _running_lines_left(passages, english["reference"], *EN) == 0


def test_ocr_never_reports_scanned_pages(english: dict, mixed: Path) -> None:
    doc = read_document(Source(mixed, "mixed"), ocr="never")
    assert doc.ocr_pages == 0
    assert {p.page for p in segment_document(doc)} == {1}
    assert [(w.page, w.kind) for w in doc.warnings] == [(2, "ocr-skipped")]
    failure = read_one(Source(english["scan"], "scan"), ocr="never")
    assert isinstance(failure, ParseFailure)
    assert failure.error_type == "empty" and "--ocr never" in failure.message


def test_ocr_always_reads_a_text_page(tmp_path: Path) -> None:
    pdf = text_pdf(
        [
            Block(
                "paragraph",
                "Residents and tenants' associations redesigned the repairs service together. " * 3,
            )
        ],
        title="Repairs",
        publisher="Council",
    )
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    assert {p.source for p in segment_document(read_document(Source(path, "t")))} == {"text"}
    passages = segment_document(read_document(Source(path, "t"), ocr="always"))
    assert {p.source for p in passages} == {"ocr"}
    assert word_recall(body_reference(pdf)[0], _passage_text(passages)) >= 0.95


def _jpeg(array, quality: int = 70) -> bytes:
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.clip(array, 0, 255).astype("uint8"), "L").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _bad_pages_pdf(english: dict) -> bytes:
    """A scanned text page, then a blank scan, a photo-like picture and an undecodable image."""
    import numpy as np
    import pypdfium2 as pdfium
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    rng = np.random.default_rng(0)
    src = pdfium.PdfDocument(english["scan"])
    page1 = _jpeg(np.asarray(src[0].render(scale=200 / 72, grayscale=True).to_pil()))
    src.close()
    blank = 238 + rng.normal(0, 8, (1169, 827))
    yy, xx = np.mgrid[0:1169, 0:827]
    photo = (
        128
        + 60 * np.sin(xx / 40) * np.cos(yy / 55)
        + 40 * np.sin((xx + yy) / 90)
        + rng.normal(0, 6, xx.shape)
    )
    broken = _jpeg(
        200 + rng.normal(0, 20, (300, 200)), quality=41
    )  # its own quantisation tables: a unique header
    rl_config.useA85 = 0  # image streams as raw bytes, so that one can be damaged below
    try:
        out = io.BytesIO()
        canv = Canvas(out, pagesize=A4, invariant=1)
        for data in (page1, _jpeg(blank), _jpeg(photo), broken):
            canv.drawImage(ImageReader(io.BytesIO(data)), 0, 0, *A4)
            canv.showPage()
        canv.save()
    finally:
        rl_config.useA85 = 1
    pdf = out.getvalue()
    at = pdf.index(broken[:200])
    return pdf[:at] + b"\x00" * 200 + pdf[at + 200 :]


def test_unreadable_pages_get_named_reasons_and_the_document_goes_on(english: dict, tmp_path: Path) -> None:
    path = tmp_path / "bad-pages.pdf"
    path.write_bytes(_bad_pages_pdf(english))
    doc = read_document(Source(path, "bad", {"language": "en"}))
    kinds = {w.page: w.kind for w in doc.warnings}
    assert kinds == {2: "ocr-blank-page", 3: "ocr-no-text", 4: "ocr-corrupt-image"}
    passages = segment_document(doc)
    assert {p.page for p in passages} == {1}
    assert word_recall(english["reference"][0], _passage_text(passages)) >= 0.9
    assert all(f"page {w.page}" in w.message for w in doc.warnings)


def test_low_confidence_page_is_kept_with_a_warning(english: dict, tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    worn = scan_pdf(english["text"], seed=2, settings=ScanSettings(dpi=150, noise=45, blur=1.2))
    path = tmp_path / "worn.pdf"
    path.write_bytes(worn)
    pdf = pdfium.PdfDocument(path)
    try:
        reader = DocumentOcr(str(path), OcrSettings(language="en"), len(pdf))
        page = pdf[0]
        result = reader.recognise(page, 1)
        page.close()
    finally:
        pdf.close()
    assert result.lines, "a low-confidence page keeps its text"
    assert result.mean_confidence < LOW_CONFIDENCE
    assert [w.kind for w in reader.warnings] == ["ocr-low-confidence"]


def test_parse_and_score_write_ocr_columns_warnings_and_settings(
    english: dict, mixed: Path, tmp_path: Path
) -> None:
    from cocreation_nlp.config import RunConfig
    from cocreation_nlp.parse import parse_to_csv
    from cocreation_nlp.pipeline import run_score

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mixed.pdf").write_bytes(mixed.read_bytes())
    (corpus / "note.txt").write_text(
        "Residents' panel\n\nResidents told us in twelve workshops that the forms were too long, "
        "and the council changed them with their help.\n",
        encoding="utf-8",
    )
    seen_pages: list[tuple[str, int, int]] = []
    from cocreation_nlp.readers.ocr import progress_to

    with progress_to(lambda src, page, n: seen_pages.append((Path(src).name, page, n))):
        summary = parse_to_csv([corpus], tmp_path / "passages.csv", ocr="auto")
    assert seen_pages == [("mixed.pdf", 2, 2)]
    assert summary.ocr_pages == 1 and not summary.failures
    with (tmp_path / "passages.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ocr_rows = [r for r in rows if r["source"] == "ocr"]
    assert ocr_rows and all(r["page"] == "2" and 0.5 < float(r["ocr_confidence"]) <= 1 for r in ocr_rows)
    assert all(r["ocr_confidence"] == "" for r in rows if r["source"] == "text")

    # --ocr never: the scanned page becomes a warning row; the document is kept.
    parse_to_csv([corpus], tmp_path / "never.csv", ocr="never")
    with (tmp_path / "errors.csv").open(encoding="utf-8") as fh:
        errors = list(csv.DictReader(fh))
    assert [(e["severity"], e["error_type"], e["page"]) for e in errors] == [("warning", "ocr-skipped", "2")]

    out = tmp_path / "run"
    pages: list[int] = []
    run_score(
        [corpus], out, model="rules", config=RunConfig(), workers=1, on_page=lambda s, p, n: pages.append(p)
    )
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["settings"]["ocr"] == "auto" and run["counts"]["ocr_pages_read"] == 1 and pages == [2]
    with (out / "passages.csv").open(encoding="utf-8") as fh:
        scored = list(csv.DictReader(fh))
    assert {r["source"] for r in scored if r["page"] == "2"} == {"ocr"}
    # The OCR mode is part of the cache key: a run with another mode reads the documents again.
    summary = run_score([corpus], out, model="rules", config=RunConfig(ocr="never"), workers=1)
    assert summary.n_cached == 0 and summary.n_ocr_pages == 0
    with (out / "errors.csv").open(encoding="utf-8") as fh:
        assert [(e["severity"], e["error_type"], e["page"]) for e in csv.DictReader(fh)] == [
            ("warning", "ocr-skipped", "2")
        ]
    # The HTML report lists the page warning apart from the failed documents.
    from cocreation_nlp.report.build import build_report

    html = build_report(out)
    assert "Page warnings" in html and "ocr-skipped" in html
    summary = run_score([corpus], out, model="rules", config=RunConfig(), workers=1)
    assert summary.n_cached == 2


def test_cli_ocr_option(mixed: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cocreation_nlp.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["parse", str(mixed), "-o", str(tmp_path / "p.csv"), "--ocr", "sometimes"])
    assert bad.exit_code == 2 and "--ocr must be auto, never or always" in bad.output
    ok = runner.invoke(
        app, ["parse", str(mixed), "-o", str(tmp_path / "p.csv"), "--ocr", "never", "--no-progress"]
    )
    assert ok.exit_code == 0, ok.output
    assert "1 page warning(s)" in ok.output


def test_pages_recognised_in_worker_processes_reach_the_progress_callback(
    mixed: Path, tmp_path: Path
) -> None:
    from cocreation_nlp.pipeline import run_score

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mixed.pdf").write_bytes(mixed.read_bytes())
    for i in range(7):  # enough documents for the process pool (at least 4 per worker)
        (corpus / f"note{i}.txt").write_text(
            f"Note {i}\n\nResidents told us in {i + 2} workshops that the forms were too long.\n",
            encoding="utf-8",
        )
    pages: list[tuple[str, int, int]] = []
    summary = run_score(
        [corpus],
        tmp_path / "out",
        model="rules",
        workers=2,
        on_page=lambda s, p, n: pages.append((Path(s).name, p, n)),
    )
    assert summary.n_processed == 8 and summary.n_failed == 0 and summary.n_ocr_pages == 1
    assert pages == [("mixed.pdf", 2, 2)]


def test_running_header_variants_are_merged_for_ocr_lines_only() -> None:
    # OCR misreads a running header a little differently on each page; the reader matches such
    # variants by similarity, but only among OCR lines: two text-layer lines are the same only if equal.
    from cocreation_nlp.readers.pdf import PageLayout, _Line, drop_running_lines, recognised_line

    variants = [
        "Greyfield Library Review 2009",
        "Greyfieid Library Review 2009",
        "Greyfield Librarv Review 2009",
        "Grcyfield Library Review 2009",
        "Greyfield Library Reviw 2009",
    ]
    body = "Readers chose the new opening hours with the librarians of each branch."

    def pages(ocr: bool) -> list[PageLayout]:
        out = []
        for n, header in enumerate(variants, start=1):
            if ocr:
                lines = [
                    recognised_line(72, 300, 800, 810, header, n, size=10, confidences=[0.9] * 4),
                    recognised_line(72, 500, 500, 510, body, n, size=10, confidences=[0.95] * 12),
                ]
            else:
                lines = [
                    _Line(72, 300, 800, 810, header, n, size=10),
                    _Line(72, 500, 500, 510, body, n, size=10),
                ]
            out.append(PageLayout(n, 595, 842, lines))
        return out

    scanned = pages(ocr=True)
    drop_running_lines(scanned)
    assert [[ln.text for ln in p.lines] for p in scanned] == [[body]] * 5
    born_digital = pages(ocr=False)
    drop_running_lines(born_digital)
    assert [p.lines[0].text for p in born_digital] == variants


def test_page_hook_sees_every_page_and_a_textless_page_stays_listed(english: dict, mixed: Path) -> None:
    # The PDF reader's page hook is called once per page with the text-layer layout; returning
    # None keeps that layout, and a page that ends up without text is listed for the caller.
    from cocreation_nlp.readers.pdf import parse_pdf

    seen: list[tuple[int, bool]] = []

    def keep(pdf, layout):  # noqa: ANN001, ANN202
        seen.append((layout.number, layout.has_text))
        return None

    result = parse_pdf(mixed, fill_page=keep)
    assert seen == [(1, True), (2, False)]
    assert result.textless_pages == [2] and {b.page for b in result.blocks} == {1}
