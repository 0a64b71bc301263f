"""Parsing fidelity: each failure pattern of issue 10 on a small document generated here.

PDFs are drawn with reportlab, DOCX files with python-docx (plus raw XML where
python-docx has no API: content controls, text boxes), HTML and Markdown are
written inline. Each test fails on the reader that lost, doubled or reordered
the text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cocreation_nlp.ingest import Source, read_one
from cocreation_nlp.readers.html import parse_html
from cocreation_nlp.readers.markdown import parse_markdown
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, Passage, is_labelling_unit

BODY = (
    "Residents and front-line staff met every month to agree the priorities of the neighbourhood plan, "
    "and the council published what it changed after each meeting."
)


def _parse(path: Path) -> tuple[Document, list[Passage]]:
    doc = read_one(Source(path, re.sub(r"\W+", "-", path.stem)))
    assert isinstance(doc, Document), doc
    return doc, segment_document(doc)


def _text(passages: list[Passage]) -> str:
    return " ".join(" ".join(p.text.split()) for p in passages)


# --------------------------------------------------------------------------- PDF


def _canvas(path: Path):  # noqa: ANN202 - reportlab Canvas
    from reportlab.pdfgen import canvas

    return canvas.Canvas(str(path), pagesize=(595, 842))


def _paragraph(c, text: str, y: float, size: float = 11, font: str = "Helvetica") -> float:  # noqa: ANN001
    """Draw wrapped text from the left margin; return the y below it."""
    from reportlab.lib.utils import simpleSplit

    c.setFont(font, size)
    for line in simpleSplit(text, font, size, 450):
        c.drawString(72, y, line)
        y -= size * 1.3
    return y - size


def test_pdf_fake_bold_and_shadow_glyphs_not_duplicated(tmp_path: Path) -> None:
    path = tmp_path / "fake-bold.pdf"
    c = _canvas(path)
    # Fake bold: the heading drawn twice, a fraction of a point apart.
    c.setFont("Helvetica", 16)
    for dx in (0, 0.35):
        c.drawString(72 + dx, 760, "TEX and the tenants")
    # A shadow: grey copy one point down and right, then the text.
    c.setFillGray(0.6)
    c.drawString(73, 729, "you hear many voices")
    c.setFillGray(0)
    c.drawString(72, 730, "you hear many voices")
    # Glyph by glyph, each drawn twice.
    x = 72.0
    c.setFont("Helvetica", 11)
    for ch in "Doubled glyphs here":
        c.drawString(x, 700, ch)
        c.drawString(x + 0.3, 700, ch)
        x += c.stringWidth(ch, "Helvetica", 11)
    _paragraph(c, BODY, 670)
    c.save()
    _, passages = _parse(path)
    text = _text(passages)
    assert text.count("TEX and the tenants") == 1
    assert text.count("you hear many voices") == 1
    assert "Doubled glyphs here" in text
    assert not re.search(r"TETEX|yoyou|DDoo", text)


def test_pdf_no_spaces_inserted_inside_words(tmp_path: Path) -> None:
    path = tmp_path / "kerned.pdf"
    c = _canvas(path)
    c.setFont("Helvetica", 11)
    # Words drawn in pieces (as typesetters do around kerning and hyphens), touching.
    x = 72.0
    for piece in (
        "Open",
        "-",
        "source",
        " tools work in ",
        "real",
        "-",
        "time",
        " for ",
        "every",
        "one",
        ".",
    ):
        c.drawString(x, 760, piece)
        x += c.stringWidth(piece, "Helvetica", 11)
    _paragraph(c, BODY, 730)
    c.save()
    _, passages = _parse(path)
    text = _text(passages)
    assert "Open-source tools work in real-time for everyone." in text


def test_pdf_odd_even_and_in_flow_running_headers_removed(tmp_path: Path) -> None:
    path = tmp_path / "book.pdf"
    c = _canvas(path)
    for page in range(1, 9):
        c.setFont("Helvetica", 9)
        header = "Neighbourhood Plan 2024: Annual Report" if page % 2 else "Chapter 2 Working with residents"
        # Odd and even pages carry different headers, at different heights.
        c.drawString(72 if page % 2 else 300, 800 if page % 2 else 790, header)
        c.drawString(290, 40, f"Page {page} of 8")
        y = _paragraph(c, f"Section {page}. " + BODY, 740)
        if page in (3, 6):
            # The header again, inside the text flow (drawn in mid page by a broken template).
            c.setFont("Helvetica", 9)
            c.drawString(72, y, "Neighbourhood Plan 2024: Annual Report")
            y -= 30
        _paragraph(
            c, f"On page {page} the panel also reviewed the budget with the community groups of the area.", y
        )
        c.showPage()
    c.save()
    _, passages = _parse(path)
    text = _text(passages)
    assert "Annual Report" not in text
    assert "Chapter 2 Working with residents" not in text
    assert not re.search(r"Page \d of 8", text)
    for page in range(1, 9):
        assert f"Section {page}. Residents and front-line staff" in text
        assert f"On page {page} the panel" in text


def test_pdf_numeric_table_kept_as_table_passage(tmp_path: Path) -> None:
    path = tmp_path / "table.pdf"
    c = _canvas(path)
    y = _paragraph(c, BODY, 780)
    c.setFont("Helvetica", 10)
    rows = [
        ("Ward", "2022", "2023", "Change"),
        ("North", "1,204", "1,388", "15%"),
        ("South", "980", "1,020", "4%"),
    ]
    rows += [("East", "2,310", "2,290", "-1%"), ("West", "745", "812", "9%")]
    for r, row in enumerate(rows):
        for col, cell in enumerate(row):
            c.drawString(72 + 120 * col, y - 16 * r, cell)
    _paragraph(
        c,
        "The wards with the largest change asked for more meetings in the evening.",
        y - 16 * len(rows) - 10,
    )
    c.save()
    _, passages = _parse(path)
    tables = [p for p in passages if p.kind == "table"]
    assert len(tables) == 1
    lines = tables[0].text.split("\n")
    assert lines[0].split(" | ") == ["Ward", "2022", "2023", "Change"]
    assert lines[2].split(" | ") == ["South", "980", "1,020", "4%"]  # letterless cells kept
    assert len(lines) == 5
    assert not is_labelling_unit(tables[0].kind)
    assert any(p.text.startswith("The wards with the largest change") for p in passages)


def test_pdf_right_to_left_lines_keep_reading_order(tmp_path: Path) -> None:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    font = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", "DejaVuSans.ttf")
    pdfmetrics.registerFont(TTFont("DejaVu", font))
    sentence = "התושבים משתתפים בתכנון השירותים הציבוריים בעיר"
    path = tmp_path / "rtl.pdf"
    c = _canvas(path)
    c.setFont("DejaVu", 12)
    y = 760.0
    for _ in range(4):
        # As RTL word processors write them: each word its own object, placed from the right edge.
        x = 520.0
        for word in sentence.split():
            width = c.stringWidth(word, "DejaVu", 12)
            c.drawString(x - width, y, word[::-1])
            x -= width + c.stringWidth(" ", "DejaVu", 12)
        y -= 16
    c.save()
    _, passages = _parse(path)
    assert _text(passages) == " ".join([sentence] * 4)


def test_pdf_consecutive_headings_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "headings.pdf"
    c = _canvas(path)
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 780, "Part One")
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 750, "Working with residents")
    y = _paragraph(c, BODY + " " + BODY, 720)
    _paragraph(c, "A second paragraph says how the plan will be reviewed by the panel next year.", y)
    c.save()
    _, passages = _parse(path)
    assert [(p.kind, p.text) for p in passages[:2]] == [
        ("heading", "Part One"),
        ("heading", "Working with residents"),
    ]
    assert passages[2].heading == "Working with residents"


def test_pdf_textless_page_reported_for_ocr(tmp_path: Path) -> None:
    from cocreation_nlp.readers.pdf import parse_pdf

    path = tmp_path / "mixed.pdf"
    c = _canvas(path)
    _paragraph(c, BODY, 780)
    c.showPage()
    c.rect(100, 100, 300, 300, fill=1)  # a scanned page: an image, no text
    c.showPage()
    c.save()
    result = parse_pdf(path)
    assert result.textless_pages == [2]
    assert result.blocks and result.blocks[0].page == 1


# --------------------------------------------------------------------------- DOCX


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _xml(fragment: str):  # noqa: ANN202 - lxml element
    from docx.oxml import parse_xml

    return parse_xml(
        f'<w:root xmlns:w="{W_NS}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml">' + fragment + "</w:root>"
    )[0]


def test_docx_content_controls_and_text_boxes_read_once(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph(BODY)
    body = d.element.body
    sdt = _xml(
        "<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Cover title inside a content control</w:t></w:r></w:p>"
        "</w:sdtContent></w:sdt>"
    )
    inline_sdt = _xml(
        "<w:p><w:r><w:t xml:space='preserve'>Lead officer: </w:t></w:r><w:sdt><w:sdtContent><w:r>"
        "<w:t>Ana Ruiz</w:t></w:r></w:sdtContent></w:sdt></w:p>"
    )
    box = (
        "<w:txbxContent><w:p><w:r><w:t>Text box: residents chair the panel</w:t></w:r></w:p></w:txbxContent>"
    )
    textbox = _xml(
        "<w:p><w:r><w:t xml:space='preserve'>Anchor paragraph. </w:t></w:r><w:r><mc:AlternateContent>"
        f"<mc:Choice Requires='wps'><w:drawing><wps:txbx>{box}</wps:txbx></w:drawing></mc:Choice>"
        f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r></w:p>"
    )
    for el in (sdt, inline_sdt, textbox):
        body.insert(len(body) - 1, el)  # before sectPr
    path = tmp_path / "controls.docx"
    d.save(str(path))
    _, passages = _parse(path)
    text = _text(passages)
    assert "Cover title inside a content control" in text
    assert "Lead officer: Ana Ruiz" in text
    assert text.count("Text box: residents chair the panel") == 1  # choice read, fallback not
    assert text.index("Anchor paragraph.") < text.index("Text box:")


def test_docx_headings_by_style_chain_and_numbering(tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    custom = d.styles.add_style("Council Heading", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = d.styles["Heading 2"]
    d.add_heading("Plan for the estate", level=1)
    d.add_paragraph("Section on residents", style="Council Heading")
    d.add_paragraph(BODY)
    d.add_heading("Budget", level=2)
    d.add_paragraph("First, fund the tenants' association.", style="List Number")
    d.add_paragraph("Second, train the caseworkers.", style="List Number")
    path = tmp_path / "styles.docx"
    d.save(str(path))
    doc, passages = _parse(path)
    kinds = [(b.kind, doc.block_text(b)) for b in doc.blocks]
    assert ("heading", "Plan for the estate") in kinds
    assert ("heading", "Section on residents") in kinds  # a custom style based on Heading 2
    assert ("heading", "Budget") in kinds
    items = [t for k, t in kinds if k == "list_item"]
    assert items == ["1. First, fund the tenants' association.", "2. Second, train the caseworkers."]
    assert [p.kind for p in passages].count("heading") == 3


def test_docx_tables_rows_and_frames(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph(BODY)
    t = d.add_table(rows=3, cols=3)
    for r, row in enumerate(
        [("Ward", "2022", "2023"), ("North", "1,204", "1,388"), ("South", "980", "1,020")]
    ):
        for col, val in enumerate(row):
            t.cell(r, col).text = val
    frame = d.add_table(rows=1, cols=1)
    frame.cell(0, 0).text = "A boxed note: the panel meets in public and anyone may attend its meetings."
    path = tmp_path / "tables.docx"
    d.save(str(path))
    doc, passages = _parse(path)
    tables = [p for p in passages if p.kind == "table"]
    assert [p.text for p in tables] == ["Ward | 2022 | 2023\nNorth | 1,204 | 1,388\nSouth | 980 | 1,020"]
    # A one-column table is a frame around text: read as a paragraph.
    assert any(p.kind == "paragraph" and p.text.startswith("A boxed note") for p in passages)


# --------------------------------------------------------------------------- HTML


def test_html_captions_figures_and_definitions_kept() -> None:
    page = (
        "<html><head><title>Plan</title></head><body><nav><a href='/'>Home</a></nav>"
        "<div class='cookie-banner'>We use cookies</div><main><h1>Plan</h1>"
        f"<p>{BODY}</p>"
        "<figure><img src='a.png' alt=''><figcaption>Figure 1: residents at the planning day</figcaption></figure>"
        "<table><caption>Table 2: meetings held per ward</caption>"
        "<tr><th>Ward</th><th>Meetings</th></tr><tr><td>North</td><td>12</td></tr></table>"
        "<dl><dt>Panel</dt><dd>Twelve residents chosen by lot.</dd></dl>"
        "<aside>Related links</aside></main><footer>Contact us</footer></body></html>"
    )
    result = parse_html(page)
    blocks = [(b.kind, b.text) for b in result.blocks]
    assert ("paragraph", "Figure 1: residents at the planning day") in blocks
    assert ("paragraph", "Table 2: meetings held per ward") in blocks
    assert ("table", "Ward | Meetings\nNorth | 12") in blocks
    assert ("paragraph", "Twelve residents chosen by lot.") in blocks
    text = " ".join(t for _, t in blocks)
    assert "cookies" not in text and "Home" not in text and "Related links" not in text
    assert "Contact us" not in text
    assert result.title == "Plan"


def test_html_ordered_list_numbers_and_nested_lists() -> None:
    page = (
        "<main><ol start='3'><li>Fund the association<ul><li>for three years</li></ul></li>"
        "<li>Train staff</li></ol></main>"
    )
    blocks = [(b.kind, b.text) for b in parse_html(page).blocks]
    assert blocks == [
        ("list_item", "3. Fund the association"),
        ("list_item", "for three years"),
        ("list_item", "4. Train staff"),
    ]


# --------------------------------------------------------------------------- Markdown


def test_markdown_script_title_footnotes_and_html_blocks() -> None:
    text = (
        "# Neighbourhood plan\n\n"
        'Residents decide<script>track("x")</script> the budget.[^1]\n\n'
        "<table><tr><td>Ward</td><td>North</td></tr><tr><td>Budget</td><td>1,200</td></tr></table>\n\n"
        "[^1]: The budget is set every spring.\n"
    )
    result = parse_markdown(text)
    blocks = [(b.kind, b.text) for b in result.blocks]
    assert result.title == "Neighbourhood plan"
    assert ("paragraph", "Residents decide the budget.") in blocks
    assert ("table", "Ward | North\nBudget | 1,200") in blocks
    assert ("paragraph", "The budget is set every spring.") in blocks
    assert "track" not in " ".join(t for _, t in blocks)


def test_markdown_embedded_front_matter_becomes_heading() -> None:
    text = (
        "---\ntitle: Methods\n---\n# Methods\n\nIntro text about the methods.\n\n"
        "---\nlayout: card\ntitle: Affinity mapping\ncategory: Decide\n---\n\n"
        "Group the notes from interviews into themes with the team.\n"
    )
    blocks = [(b.kind, b.text) for b in parse_markdown(text).blocks]
    assert ("heading", "Affinity mapping") in blocks
    assert not any("layout:" in t or "category:" in t for _, t in blocks)


@pytest.mark.parametrize("level", [1, 2])
def test_markdown_front_matter_title_wins_over_h1(level: int) -> None:
    result = parse_markdown(f"---\ntitle: From front matter\n---\n{'#' * level} Heading\n\nText.\n")
    assert result.title == "From front matter"
