"""Build the project's sample corpus (corpora/sample/) from its Markdown sources.

Each source in ``corpora/sample/src/*.md`` is one document: a front-matter block
(``key: value`` lines between ``---``), then headings (``#``, ``##``),
paragraphs, ``- `` bullets and pipe tables. Every paragraph and bullet ends with
the author's codebook labels in double braces, ``{{individual, consultation}}``
or ``{{}}`` for none. Lines starting with ``%`` are layout directives for the PDF
renderer (``% pagebreak``, ``% columns 2``, ``% columns 1``); other formats
ignore them.

The script renders each source into the format named in its front matter (PDF
with reportlab, DOCX with python-docx, HTML, Markdown with YAML front matter,
plain text) under ``corpora/sample/docs/``, and writes ``manifest.csv``,
``expected.csv``, ``author_labels.csv`` and ``EXPECTED.md`` from the sources.
The expected scores follow the "Document scores" section of the codebook,
computed from the author's labels (union of labels = max, minimum denominator 2).

Output is deterministic: reportlab runs with ``invariant=1``, DOCX core
properties carry the document's own date, and DOCX zip entries get a fixed
timestamp, so a rebuild gives the same bytes with the same library versions.

Usage:
    .venv/bin/python scripts/build_sample_corpus.py          # rebuild
    .venv/bin/python scripts/build_sample_corpus.py --check  # fail if outputs are stale
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import filecmp
import html
import io
import re
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "corpora" / "sample"
SRC_DIR = SAMPLE_DIR / "src"
DOCS_SUBDIR = "docs"

LABELS = ("individual", "collective", "professionals", "cocreation", "consultation", "equity", "systemic")
MANIFEST_COLUMNS = ("doc_id", "file", "title", "publisher", "country", "year", "doc_type", "language")
DOC_TYPES = frozenset({"strategy", "programme_report", "guidance", "evaluation", "action_plan"})
FORMATS = {"pdf": ".pdf", "scan": ".pdf", "docx": ".docx", "html": ".html", "md": ".md", "txt": ".txt"}
# "scan": laid out as the PDFs are, then every page printed to an image and "scanned"
# (cocreation_nlp.scans: 200 dpi greyscale, slightly askew, noise, JPEG): no text layer.
SCAN_SETTINGS = dict(dpi=200, noise=6.0, jpeg_quality=45)
GROUPS = frozenset(
    {
        "professional-blind-spot",
        "collective-blind-spot",
        "balanced",
        "no-citizens",
        "mid-range",
        "collective-undefined",
        "consultation-only",
        "french",
    }
)
REQUIRED_META = ("doc_id", "title", "publisher", "country", "year", "date", "doc_type", "language", "format")
MIN_DENOMINATOR = 2.0
MIN_PASSAGES = 8
FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)

# Words that must not occur at all in a document written to have no front-line
# professionals, or no civil society organisations (checked case-insensitively
# on whole words, in the source text including tables). "member of staff" as a
# contact point is the codebook's own trap and is allowed.
PROFESSIONAL_WORDS = (
    "teacher", "teachers", "nurse", "nurses", "social worker", "social workers", "case worker",
    "case workers", "care worker", "care workers", "frontline", "front-line", "practitioner",
    "practitioners", "physician", "physicians", "doctor", "doctors", "gp", "gps", "midwife", "midwives",
    "librarian", "librarians", "tutor", "tutors", "police", "health worker", "health workers",
    "caseworker", "caseworkers", "clinician", "clinicians", "advisers", "advisors", "worker", "workers",
    "officer", "officers", "front line", "workforce",
)  # fmt: skip
COLLECTIVE_WORDS = (
    "association", "associations", "ngo", "ngos", "charity", "charities", "voluntary", "third sector",
    "civil society", "union", "unions", "community organisation", "community organisations",
    "community group", "community groups", "cooperative", "cooperatives", "social enterprise",
    "social enterprises", "federation", "forum", "campaign", "network", "coalition", "council for",
)  # fmt: skip

# Hand-checked hyphenation points (British usage) for the long words of the PDF
# sources. Words not listed are never broken, so every break is a real one.
HYPHENATION_POINTS = """
ac-ces-si-bil-i-ty ad-min-is-tra-tion ad-min-is-tra-tions ad-min-is-tra-tive al-lo-ca-tion
ap-point-ment as-sess-ment as-sess-ments as-ses-sor at-tend-ing ap-pli-ca-tions ap-pli-ca-tion
bud-gets busi-ness case-loads case-load com-mis-sioned com-mis-sion-ing com-mit-ment com-mit-ments
com-mu-ni-ca-tion com-mu-ni-cat-ed com-par-i-son com-plaints com-ple-tion con-fi-dence
con-fir-ma-tion con-nec-tion con-nec-tiv-i-ty con-sul-ta-tion con-sul-ta-tions con-tin-u-ing
con-tin-u-i-ty con-ver-sa-tion con-ver-sa-tions con-sump-tion con-tri-bu-tion con-tribut-ing
com-mit-tee de-com-mis-sioned de-part-ment de-part-ments dif-fi-cul-ty dis-abil-i-ties
dis-abil-i-ty dis-tin-guish-es ed-u-ca-tion elec-tric-i-ty em-ploy-ment en-vi-ron-men-tal
ev-ery-thing ev-i-dence ex-pe-ri-ence ex-pe-ri-enced ex-pe-ri-enc-ing ex-pec-ta-tion
fea-si-bil-i-ty frame-work fund-ing gov-ern-ment home-less-ness im-me-di-ate im-mu-ta-ble
in-clu-sion in-de-pen-dent in-duc-tion in-for-ma-tion in-fra-struc-ture in-spec-tion in-spec-tors
in-tel-lec-tu-al in-ter-pret-ers in-ter-views in-ter-net jour-ney leg-is-la-tion li-brar-ies
li-cens-ing main-te-nance man-agers man-age-ment med-i-ca-tion mi-grat-ed mi-gra-tion
mi-gra-tions min-is-try mu-nic-i-pal mu-nic-i-pal-i-ties neigh-bour-hoods neigh-bour-hood
ob-ser-va-tion or-gan-i-sa-tion or-gan-i-sa-tions or-gan-i-sa-tion-al par-tic-i-pants
par-tic-i-pa-tion par-tic-u-lar-ly part-ner-ship part-ner-ships per-for-mance per-sua-sive
plat-form plat-forms prac-ti-tion-er prac-ti-tion-ers pri-or-i-ties pro-cure-ment pro-fes-sion-als
pro-gramme pro-grammes pro-to-types pro-vid-er rec-om-mends rec-om-men-da-tion rec-og-nised
re-de-sign re-lat-ed re-la-tion-ship re-new-able re-por-ting rep-re-sen-ta-tives rep-re-sent
res-i-dents re-sis-tance re-spon-dents re-spons-es sched-ules spec-i-fi-ca-tion strat-e-gy
sup-port-ed sus-tain-abil-i-ty tech-nol-o-gy trans-fer-ring un-planned vis-it-ing work-force
work-loads work-shops ad-dic-tion ad-mis-sions along-side anal-y-sis an-swered ap-proach
as-so-ci-a-tions ben-e-fits ca-pac-i-ty check-ing chil-dren cit-i-zens col-lec-tion col-lec-tive
com-bined com-ments com-plet-ing com-put-ers con-sid-ered con-sult-ed con-tents con-tin-ue crit-i-cal
de-ci-sions de-liv-ered de-men-tia de-scribe de-scribed de-signed de-sign-ers de-sign-ing dif-fer-ent
dif-fer-ent-ly dis-abled dis-agree dis-counts dis-trict emis-sions en-tire-ly eval-u-ate eval-u-ates
eval-u-a-tion ex-clud-ed ex-pect-ed ex-ter-nal fam-i-lies feed-back find-ings fin-ished fol-lowed
fore-word frus-trate gath-ered hap-pen-ing hos-pi-tal house-hold im-proved in-cludes in-di-vid-ual
in-flu-enced in-ter-pret in-volved knowl-edge lan-guage learn-ing lob-by-ing mat-tered mea-sured
mea-sures mea-sur-ing meet-ings mid-point na-tion-al north-bridge no-tice-ably of-fi-cial or-gan-ised
per-ma-nent pic-tures plan-ning pre-vi-ous prin-ci-ples prob-lems pro-duced pro-duc-tion pro-gress
pro-jects prompt-ing pub-lished ques-tion ques-tions re-ceived re-ceives re-cep-tion
rec-om-men-da-tions re-cord-ed re-cov-er-ing re-cruit-ed re-fer-ring re-flec-tion rel-a-tive
rel-a-tives re-li-able re-main-ing re-peat-ing re-search re-sources re-sponse re-turned rou-tines
sat-is-fac-tion sep-a-rate sep-tem-ber ser-vices ses-sions set-tle-ment sim-pli-fied some-thing
stake-hold-ers stan-dard strug-gle sub-mit-ted su-per-vi-sion sup-port-ing sur-vives tele-phone
them-selves to-geth-er tra-di-tion-al-ly train-ing turn-over un-nec-es-sary us-abil-i-ty val-do-ria
val-do-ri-an watch-ing
"""


def _hyphenation_table() -> dict[str, tuple[int, ...]]:
    table: dict[str, tuple[int, ...]] = {}
    for entry in HYPHENATION_POINTS.split():
        parts = entry.split("-")
        cuts, pos = [], 0
        for part in parts[:-1]:
            pos += len(part)
            cuts.append(pos)
        table["".join(parts)] = tuple(cuts)
    return table


HYPHENATION = _hyphenation_table()


def hyphenate(word: str) -> list[tuple[str, str]]:
    """Reportlab hyphenator callable: (head, tail) pairs, longest head first.

    Breaks keep at least two letters on the first line and three on the next.
    """
    cuts = HYPHENATION.get(word.lower())
    if not cuts:
        return []
    return [(word[:c], word[c:]) for c in reversed(cuts) if c >= 2 and len(word) - c >= 3]


# --------------------------------------------------------------------------
# Source model and parser


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str
    labels: tuple[str, ...]
    bullet: bool = False


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Directive:
    name: str


Block = Heading | Para | Table | Directive


@dataclass
class SourceDoc:
    path: Path
    meta: dict[str, str]
    blocks: list[Block] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return self.meta["doc_id"]

    @property
    def fmt(self) -> str:
        return self.meta["format"]

    @property
    def file(self) -> str:
        return f"{DOCS_SUBDIR}/{self.doc_id}{FORMATS[self.fmt]}"

    @property
    def date(self) -> dt.date:
        return dt.date.fromisoformat(self.meta["date"])

    def list_meta(self, key: str) -> list[str]:
        return [x.strip() for x in self.meta.get(key, "").split(";") if x.strip()]

    @property
    def passages(self) -> list[Para]:
        return [b for b in self.blocks if isinstance(b, Para)]


TAG_RE = re.compile(r"\s*\{\{([a-z, ]*)\}\}\s*$")


class SourceError(ValueError):
    """A source file does not follow the corpus convention."""


def parse_source(path: Path) -> SourceDoc:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != "---":
        raise SourceError(f"{path.name}: must start with a '---' front-matter line")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise SourceError(f"{path.name}: front matter is not closed with '---'") from None
    meta: dict[str, str] = {}
    for lineno, line in enumerate(lines[1:end], start=2):
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise SourceError(f"{path.name}:{lineno}: front matter lines are 'key: value', got {line!r}")
        meta[key.strip()] = value.strip()
    doc = SourceDoc(path=path, meta=meta)
    table_rows: list[tuple[str, ...]] = []

    def flush_table(lineno: int) -> None:
        if not table_rows:
            return
        if len(table_rows) < 3 or not all(set(c) <= set("-: ") for c in table_rows[1]):
            raise SourceError(f"{path.name}:{lineno}: a table needs a header, a --- separator and rows")
        width = len(table_rows[0])
        if any(len(r) != width for r in table_rows):
            raise SourceError(f"{path.name}:{lineno}: table rows have different numbers of cells")
        doc.blocks.append(Table(header=table_rows[0], rows=tuple(table_rows[2:])))
        table_rows.clear()

    for lineno, raw in enumerate(lines[end + 1 :], start=end + 2):
        line = raw.strip()
        if line.startswith("|"):
            table_rows.append(tuple(c.strip() for c in line.strip("|").split("|")))
            continue
        flush_table(lineno)
        if not line:
            continue
        if line.startswith("%"):
            doc.blocks.append(Directive(line[1:].strip()))
        elif line.startswith("#"):
            hashes, _, text = line.partition(" ")
            if set(hashes) != {"#"} or len(hashes) > 2 or TAG_RE.search(line):
                raise SourceError(f"{path.name}:{lineno}: headings are '# ' or '## ' and carry no labels")
            doc.blocks.append(Heading(level=len(hashes), text=text.strip()))
        else:
            bullet = line.startswith("- ")
            match = TAG_RE.search(line)
            if not match:
                raise SourceError(f"{path.name}:{lineno}: paragraph or bullet without a {{{{labels}}}} tag")
            labels = tuple(x.strip() for x in match.group(1).split(",") if x.strip())
            unknown = sorted(set(labels) - set(LABELS))
            if unknown:
                raise SourceError(f"{path.name}:{lineno}: unknown label(s) {unknown}; allowed: {LABELS}")
            text = line[: match.start()].strip()
            if bullet:
                text = text[2:].strip()
            doc.blocks.append(Para(text=text, labels=tuple(sorted(labels, key=LABELS.index)), bullet=bullet))
    flush_table(len(lines))
    _validate_meta(doc)
    return doc


def _validate_meta(doc: SourceDoc) -> None:
    name = doc.path.name
    missing = [k for k in REQUIRED_META if not doc.meta.get(k)]
    if missing:
        raise SourceError(f"{name}: front matter lacks {missing}")
    if doc.path.stem != doc.doc_id:
        raise SourceError(f"{name}: file name must be the doc_id ({doc.doc_id}.md)")
    if doc.meta["doc_type"] not in DOC_TYPES:
        raise SourceError(f"{name}: doc_type {doc.meta['doc_type']!r} not in {sorted(DOC_TYPES)}")
    if doc.fmt not in FORMATS:
        raise SourceError(f"{name}: format {doc.fmt!r} not in {sorted(FORMATS)}")
    if doc.meta["language"] not in {"en", "fr"}:
        raise SourceError(f"{name}: language must be en or fr")
    if str(doc.date.year) != doc.meta["year"]:
        raise SourceError(f"{name}: year {doc.meta['year']} does not match date {doc.meta['date']}")
    unknown = sorted(set(doc.list_meta("groups")) - GROUPS)
    if unknown:
        raise SourceError(f"{name}: unknown group(s) {unknown}; allowed: {sorted(GROUPS)}")


# --------------------------------------------------------------------------
# Inline markup: **bold**, *emphasis*, [text](url)

INLINE_RE = re.compile(
    r"\*\*(?P<b>.+?)\*\*|(?<![*\w])\*(?!\s)(?P<i>.+?)(?<!\s)\*(?![*\w])|\[(?P<lt>[^\]]+)\]\((?P<lu>[^)\s]+)\)"
)


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    url: str | None = None


def spans(text: str) -> list[Span]:
    out: list[Span] = []
    pos = 0
    for m in INLINE_RE.finditer(text):
        if m.start() > pos:
            out.append(Span(text[pos : m.start()]))
        if m.group("b") is not None:
            out.append(Span(m.group("b"), bold=True))
        elif m.group("i") is not None:
            out.append(Span(m.group("i"), italic=True))
        else:
            out.append(Span(m.group("lt"), url=m.group("lu")))
        pos = m.end()
    if pos < len(text):
        out.append(Span(text[pos:]))
    return out


def plain(text: str, *, with_urls: bool = False) -> str:
    parts = []
    for s in spans(text):
        parts.append(f"{s.text} ({s.url})" if with_urls and s.url else s.text)
    return "".join(parts)


def to_html_inline(text: str) -> str:
    parts = []
    for s in spans(text):
        t = html.escape(s.text, quote=False)
        if s.bold:
            t = f"<strong>{t}</strong>"
        elif s.italic:
            t = f"<em>{t}</em>"
        elif s.url:
            t = f'<a href="{html.escape(s.url)}">{t}</a>'
        parts.append(t)
    return "".join(parts)


def to_reportlab_inline(text: str) -> str:
    parts = []
    for s in spans(text):
        t = html.escape(s.text, quote=False)
        if s.bold:
            t = f"<b>{t}</b>"
        elif s.italic:
            t = f"<i>{t}</i>"
        elif s.url:
            t = f'<link href="{html.escape(s.url)}" color="#1a4d8f">{t}</link>'
        parts.append(t)
    return "".join(parts)


def grouped(blocks: Sequence[Block]) -> Iterator[Block | list[Para]]:
    """Yield blocks, with runs of consecutive bullets gathered into lists."""
    run: list[Para] = []
    for block in blocks:
        if isinstance(block, Para) and block.bullet:
            run.append(block)
            continue
        if run:
            yield run
            run = []
        yield block
    if run:
        yield run


# --------------------------------------------------------------------------
# PDF (reportlab platypus, standard fonts)


def render_pdf(doc: SourceDoc, path: Path) -> int:
    """Write the PDF and return its number of pages."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import (
        BaseDocTemplate,
        Frame,
        NextPageTemplate,
        PageBreak,
        PageTemplate,
        Paragraph,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as RLTable

    page_w, page_h = A4
    margin_x, margin_top, margin_bottom = 2.3 * cm, 2.4 * cm, 2.2 * cm
    column_gap = 0.8 * cm
    title = doc.meta["title"]
    footer_style = doc.meta.get("pdf_footer", "page-of")
    justify = doc.meta.get("pdf_justify", "yes") == "yes"
    serif = justify  # justified reports use Times; the ragged-right IT report uses Helvetica

    body_font = "Times-Roman" if serif else "Helvetica"
    body = ParagraphStyle(
        "body",
        fontName=body_font,
        fontSize=10.5 if serif else 10,
        leading=14 if serif else 13.5,
        alignment=TA_JUSTIFY if justify else TA_LEFT,
        spaceAfter=7,
        hyphenationLang=hyphenate if justify else "",
        embeddedHyphenation=1 if justify else 0,
        hyphenationMinWordLength=5,
        uriWasteReduce=0,
    )
    bullet_style = ParagraphStyle("bullet", parent=body, leftIndent=16, bulletIndent=5, spaceAfter=4)
    h1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=13, leading=16, spaceBefore=10, spaceAfter=6,
                        keepWithNext=1, textColor=colors.HexColor("#1a3550"))  # fmt: skip
    h2 = ParagraphStyle("h2", parent=h1, fontSize=11, leading=14, spaceBefore=6, spaceAfter=4)
    title_style = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=20, leading=24, spaceAfter=8,
                                 textColor=colors.HexColor("#1a3550"))  # fmt: skip
    subtitle_style = ParagraphStyle("subtitle", fontName="Helvetica", fontSize=12, leading=15, spaceAfter=4)
    meta_style = ParagraphStyle("meta", fontName="Helvetica-Oblique", fontSize=9.5, leading=12, spaceAfter=16)
    cell = ParagraphStyle("cell", fontName="Helvetica", fontSize=9, leading=11)
    cell_head = ParagraphStyle("cellhead", parent=cell, fontName="Helvetica-Bold")

    def draw_header(canv: Canvas, _doc: object) -> None:
        canv.saveState()
        canv.setFont("Helvetica", 8)
        canv.setFillColor(colors.HexColor("#555555"))
        canv.drawString(margin_x, page_h - 1.3 * cm, title)
        canv.drawRightString(page_w - margin_x, page_h - 1.3 * cm, doc.meta["publisher"])
        canv.setStrokeColor(colors.HexColor("#999999"))
        canv.setLineWidth(0.4)
        canv.line(margin_x, page_h - 1.45 * cm, page_w - margin_x, page_h - 1.45 * cm)
        canv.restoreState()

    class NumberedCanvas(Canvas):
        """Defers page output so that the footer can say 'Page N of M'."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._page_states: list[dict[str, object]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's API)
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._page_states)
            for state in self._page_states:
                self.__dict__.update(state)
                self.setFont("Helvetica", 8.5)
                self.setFillColor(colors.HexColor("#555555"))
                label = (
                    f"Page {self._pageNumber} of {total}"
                    if footer_style == "page-of"
                    else str(self._pageNumber)
                )
                self.drawCentredString(page_w / 2, 1.2 * cm, label)
                super().showPage()
            super().save()

    frame_h = page_h - margin_top - margin_bottom
    one = Frame(
        margin_x, margin_bottom, page_w - 2 * margin_x, frame_h, id="body", leftPadding=0, rightPadding=0
    )
    col_w = (page_w - 2 * margin_x - column_gap) / 2
    left = Frame(margin_x, margin_bottom, col_w, frame_h, id="col1", leftPadding=0, rightPadding=0)
    right = Frame(
        margin_x + col_w + column_gap, margin_bottom, col_w, frame_h, id="col2", leftPadding=0, rightPadding=0
    )
    template = BaseDocTemplate(
        str(path),
        pagesize=A4,
        invariant=1,
        title=title,
        author=doc.meta["publisher"],
        subject=doc.meta.get("subtitle", ""),
        keywords=", ".join(doc.list_meta("tags")),
        creator="cocreation_nlp scripts/build_sample_corpus.py",
        lang=doc.meta["language"],
        pageTemplates=[
            PageTemplate(id="one", frames=[one], onPage=draw_header),
            PageTemplate(id="two", frames=[left, right], onPage=draw_header),
        ],
    )

    story: list[object] = [
        Paragraph(html.escape(title, quote=False), title_style),
    ]
    if doc.meta.get("subtitle"):
        story.append(Paragraph(html.escape(doc.meta["subtitle"], quote=False), subtitle_style))
    story.append(Paragraph(f"{html.escape(doc.meta['publisher'])} · {doc.date:%d %B %Y}", meta_style))

    for item in grouped(doc.blocks):
        if isinstance(item, list):
            for p in item:
                story.append(Paragraph(to_reportlab_inline(p.text), bullet_style, bulletText="\u2022"))
            story.append(Spacer(1, 4))
        elif isinstance(item, Heading):
            story.append(Paragraph(html.escape(item.text, quote=False), h1 if item.level == 1 else h2))
        elif isinstance(item, Para):
            story.append(Paragraph(to_reportlab_inline(item.text), body))
        elif isinstance(item, Table):
            data = [[Paragraph(html.escape(c, quote=False), cell_head) for c in item.header]]
            data += [[Paragraph(html.escape(c, quote=False), cell) for c in row] for row in item.rows]
            avail = page_w - 2 * margin_x
            first = avail * 0.46
            rest = (avail - first) / max(1, len(item.header) - 1)
            table = RLTable(data, colWidths=[first] + [rest] * (len(item.header) - 1), repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6ef")),
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8899aa")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 3),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ]
                )
            )
            story += [Spacer(1, 4), table, Spacer(1, 10)]
        elif isinstance(item, Directive):
            if item.name == "pagebreak":
                story.append(PageBreak())
            elif item.name == "columns 2":
                story += [NextPageTemplate("two"), PageBreak()]
            elif item.name == "columns 1":
                story += [NextPageTemplate("one"), PageBreak()]
            else:
                raise SourceError(f"{doc.path.name}: unknown directive % {item.name}")
    template.build(story, canvasmaker=NumberedCanvas)
    return template.page


def render_scan(doc: SourceDoc, path: Path) -> int:
    """Write an image-only PDF: the document laid out as a PDF, then every page "scanned"; return its pages."""
    from cocreation_nlp.scans import ScanSettings, scan_pdf

    with tempfile.TemporaryDirectory() as tmp:
        laid_out = Path(tmp) / "text.pdf"
        pages = render_pdf(doc, laid_out)
        # A seed of the doc_id's bytes: a rebuild gives the same scan.
        seed = int.from_bytes(doc.doc_id.encode()[:8], "little")
        path.write_bytes(scan_pdf(laid_out.read_bytes(), seed=seed, settings=ScanSettings(**SCAN_SETTINGS)))
    return pages


# --------------------------------------------------------------------------
# DOCX (python-docx)


def _add_runs(paragraph: object, text: str) -> None:
    for s in spans(text):
        run = paragraph.add_run(s.text)  # type: ignore[attr-defined]
        run.bold = s.bold or None
        run.italic = s.italic or None


def _add_page_field(paragraph: object) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()  # type: ignore[attr-defined]
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
        else:
            el = OxmlElement("w:t")
            el.text = "1"
        run._r.append(el)


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry timestamps so that rebuilds are byte-identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def render_docx(doc: SourceDoc, path: Path) -> None:
    import docx
    from docx.shared import Pt

    d = docx.Document()
    stamp = dt.datetime.combine(doc.date, dt.time(9, 0), tzinfo=dt.UTC)
    props = d.core_properties
    props.title = doc.meta["title"]
    props.subject = doc.meta.get("subtitle", "")
    props.author = doc.meta["publisher"]
    props.last_modified_by = doc.meta["publisher"]
    props.keywords = ", ".join(doc.list_meta("tags"))
    props.language = doc.meta["language"]
    props.category = doc.meta["doc_type"]
    props.comments = ""
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp
    props.revision = 1

    section = d.sections[0]
    header = section.header.paragraphs[0]
    header.text = doc.meta["title"]
    header.runs[0].font.size = Pt(8)
    footer = section.footer.paragraphs[0]
    footer.add_run(f"{doc.meta['publisher']}  |  Page ").font.size = Pt(8)
    _add_page_field(footer)

    d.add_heading(doc.meta["title"], level=0)
    if doc.meta.get("subtitle"):
        d.add_paragraph(doc.meta["subtitle"], style="Subtitle")
    d.add_paragraph().add_run(f"{doc.meta['publisher']}, {doc.date:%d %B %Y}").italic = True

    for item in grouped(doc.blocks):
        if isinstance(item, list):
            for p in item:
                _add_runs(d.add_paragraph(style="List Bullet"), p.text)
        elif isinstance(item, Heading):
            d.add_heading(item.text, level=item.level)
        elif isinstance(item, Para):
            _add_runs(d.add_paragraph(), item.text)
        elif isinstance(item, Table):
            table = d.add_table(rows=1 + len(item.rows), cols=len(item.header))
            table.style = "Table Grid"
            for j, text in enumerate(item.header):
                cell = table.rows[0].cells[j]
                cell.text = ""
                cell.paragraphs[0].add_run(text).bold = True
            for i, row in enumerate(item.rows, start=1):
                for j, text in enumerate(row):
                    table.rows[i].cells[j].text = text
            d.add_paragraph()
        # layout directives are PDF-only
    buf = io.BytesIO()
    d.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue()))


# --------------------------------------------------------------------------
# HTML: a realistic page with navigation, cookie banner, breadcrumb and footer

HTML_SITES = {
    "Municipality of Port Halden": {
        "domain": "porthalden.example",
        "nav": ["Home", "Council and democracy", "Waste and recycling", "Parking and roads", "Your neighbourhood",
                "News"],
        "phone": "0800 555 0142",
        "address": "Town Hall, 1 Quay Square, Port Halden",
        "related": ["Participatory budgeting: 2020 results", "How the municipal budget works",
                    "Report a problem in your street"],
    },
    "Riverside Health Board": {
        "domain": "riversidehealth.example",
        "nav": ["Home", "Our services", "Find a clinic", "Get involved", "News", "About us"],
        "phone": "0300 555 0100",
        "address": "Riverside Health Board, Tower Wharf, Riverside",
        "related": ["Patient experience survey 2023", "Make a complaint or give feedback",
                    "Join a co-production group"],
    },
}  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^a-z]+", "-", text.lower()).strip("-")


def render_html(doc: SourceDoc, path: Path) -> None:
    site = HTML_SITES[doc.meta["publisher"]]
    esc = html.escape
    title = doc.meta["title"]
    section = doc.meta.get("html_section", "News")
    current = ' aria-current="page"'
    nav_items = "\n".join(
        f'        <li><a href="/{_slug(n)}"{current if n == section else ""}>{esc(n)}</a></li>'
        for n in site["nav"]
    )
    body: list[str] = []
    for item in grouped(doc.blocks):
        if isinstance(item, list):
            body.append("        <ul>")
            body += [f"          <li>{to_html_inline(p.text)}</li>" for p in item]
            body.append("        </ul>")
        elif isinstance(item, Heading):
            level = item.level + 1
            body.append(f"        <h{level}>{esc(item.text)}</h{level}>")
        elif isinstance(item, Para):
            body.append(f"        <p>{to_html_inline(item.text)}</p>")
        elif isinstance(item, Table):
            body.append("        <table>")
            body.append(
                "          <thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in item.header) + "</tr></thead>"
            )
            body.append("          <tbody>")
            body += [
                "            <tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in item.rows
            ]
            body.append("          </tbody>")
            body.append("        </table>")
    related = "\n".join(f'        <li><a href="#">{esc(r)}</a></li>' for r in site["related"])
    year = doc.date.year
    page = f"""<!DOCTYPE html>
<html lang="{doc.meta["language"]}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{esc(title)} | {esc(doc.meta["publisher"])}</title>
  <meta name="description" content="{esc(doc.meta.get("subtitle", title))}">
  <meta name="author" content="{esc(doc.meta["publisher"])}">
  <meta name="dcterms.date" content="{doc.meta["date"]}">
  <style>
    body {{ font-family: Arial, Helvetica, sans-serif; margin: 0; color: #1b1b1b; line-height: 1.5; }}
    .cookie-banner {{ background: #1b2a3a; color: #fff; padding: 1em; }}
    header, footer {{ background: #0b4f6c; color: #fff; padding: 0.8em 2em; }}
    header a, footer a {{ color: #fff; }}
    nav ul {{ list-style: none; display: flex; gap: 1.2em; padding: 0; }}
    .breadcrumb {{ font-size: 0.9em; padding: 0.5em 2em; }}
    main {{ display: flex; gap: 2em; padding: 0 2em; }}
    article {{ max-width: 46em; }}
    aside {{ font-size: 0.9em; border-left: 3px solid #0b4f6c; padding-left: 1em; }}
    table {{ border-collapse: collapse; }}
    th, td {{ border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; }}
  </style>
</head>
<body>
  <div class="cookie-banner" id="cookie-banner" role="region" aria-label="Cookie banner">
    <p>We use cookies to make this website work and to understand how you use it. You can accept all cookies or
    only the ones we need. <a href="/cookies">Read our cookie policy</a>.</p>
    <button type="button">Accept all cookies</button> <button type="button">Reject optional cookies</button>
  </div>
  <a class="skip-link" href="#content">Skip to main content</a>
  <header>
    <a class="logo" href="/">{esc(doc.meta["publisher"])}</a>
    <form class="search" action="/search" role="search">
      <label for="q">Search this site</label> <input id="q" name="q" type="search"> <button>Search</button>
    </form>
    <nav aria-label="Main menu">
      <ul>
{nav_items}
      </ul>
    </nav>
  </header>
  <nav class="breadcrumb" aria-label="Breadcrumb">
    <a href="/">Home</a> &rsaquo; <a href="/{_slug(section)}">{esc(section)}</a>
    &rsaquo; <span>{esc(title)}</span>
  </nav>
  <main id="content">
    <article>
      <h1>{esc(title)}</h1>
      <p class="standfirst">{esc(doc.meta.get("subtitle", ""))}</p>
      <p class="published">Published <time datetime="{doc.meta["date"]}">{doc.date.day} {doc.date:%B %Y}</time></p>
      <div class="article-body">
{chr(10).join(body)}
      </div>
      <p class="share">Share this page: <a href="#">Email</a> <a href="#">Print</a></p>
      <p class="feedback-prompt">Was this page useful? <a href="#">Yes</a> <a href="#">No</a></p>
    </article>
    <aside aria-label="Related pages">
      <h2>Related pages</h2>
      <ul>
{related}
      </ul>
    </aside>
  </main>
  <footer>
    <ul class="footer-links">
      <li><a href="/contact">Contact us</a></li>
      <li><a href="/accessibility">Accessibility statement</a></li>
      <li><a href="/privacy">Privacy notice</a></li>
      <li><a href="/cookies">Cookies</a></li>
      <li><a href="/sitemap">Sitemap</a></li>
    </ul>
    <p>{esc(site["address"])}. Telephone {esc(site["phone"])}, Monday to Friday, 9am to 5pm.</p>
    <p>&copy; {year} {esc(doc.meta["publisher"])}. All rights reserved.</p>
  </footer>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------
# Markdown with YAML front matter


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_markdown(doc: SourceDoc, path: Path) -> None:
    lines = [
        "---",
        f"title: {_yaml_str(doc.meta['title'])}",
        f"date: {doc.meta['date']}",
        f"author: {_yaml_str(doc.meta['publisher'])}",
        f"description: {_yaml_str(doc.meta.get('subtitle', ''))}",
        f"lang: {doc.meta['language']}",
        "tags:",
        *[f"  - {_yaml_str(t)}" for t in doc.list_meta("tags")],
        "---",
        "",
        f"# {doc.meta['title']}",
        "",
    ]
    if doc.meta.get("subtitle"):
        lines += [f"*{doc.meta['subtitle']}*", ""]
    for item in grouped(doc.blocks):
        if isinstance(item, list):
            lines += [f"- {p.text}" for p in item] + [""]
        elif isinstance(item, Heading):
            lines += [f"{'#' * (item.level + 1)} {item.text}", ""]
        elif isinstance(item, Para):
            lines += [item.text, ""]
        elif isinstance(item, Table):
            lines.append("| " + " | ".join(item.header) + " |")
            lines.append("| " + " | ".join("---" for _ in item.header) + " |")
            lines += ["| " + " | ".join(row) + " |" for row in item.rows]
            lines.append("")
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------
# Plain text, hard-wrapped at 78 columns

TEXT_WIDTH = 78


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    # break_on_hyphens is textwrap's default: compounds such as "co-design" may be
    # split across lines, as they are in real hard-wrapped text.
    return textwrap.wrap(text, width=TEXT_WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False)  # fmt: skip


def _text_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def render_text(doc: SourceDoc, path: Path) -> None:
    title = doc.meta["title"]
    lines = [title.upper(), ""]
    if doc.meta.get("subtitle"):
        lines += _wrap(doc.meta["subtitle"]) + [""]
    lines += [f"{doc.meta['publisher']}, {doc.meta['date']}", ""]
    for item in grouped(doc.blocks):
        if isinstance(item, list):
            for p in item:
                lines += _wrap(plain(p.text, with_urls=True), "  * ", "    ")
            lines.append("")
        elif isinstance(item, Heading):
            lines += [item.text, ""]
        elif isinstance(item, Para):
            lines += _wrap(plain(item.text, with_urls=True)) + [""]
        elif isinstance(item, Table):
            rows = [item.header, *item.rows]
            widths = [max(len(r[j]) for r in rows) for j in range(len(item.header))]
            lines += [_text_row(item.header, widths), "  ".join("-" * w for w in widths)]
            lines += [_text_row(r, widths) for r in item.rows] + [""]
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------
# Known answers: the codebook's document scores from the author's labels


@dataclass(frozen=True)
class Expected:
    doc: SourceDoc
    counts: dict[str, int]
    n_passages: int
    n_ind_or_coll: int
    n_ind_coll_cocreation: int
    n_cons_or_cocreation: int
    n_participation: int
    scores: dict[str, float | None]


SCORE_NAMES = (
    "participation",
    "professional_blind_spot",
    "collective_blind_spot",
    "consultation_share",
    "equity_coverage",
    "systemic_coverage",
)


def _ratio(num: float, den: float) -> float | None:
    return None if den < MIN_DENOMINATOR else num / den


def has(p: Para, *labels: str) -> bool:
    return any(lb in p.labels for lb in labels)


def expected_scores(doc: SourceDoc) -> Expected:
    ps = doc.passages
    counts = {lb: sum(has(p, lb) for p in ps) for lb in LABELS}
    n_ic = sum(has(p, "individual", "collective") for p in ps)
    n_icc = sum(has(p, "individual", "collective", "cocreation") for p in ps)
    n_cc = sum(has(p, "consultation", "cocreation") for p in ps)
    n_part = sum(has(p, "individual", "collective", "cocreation", "consultation") for p in ps)
    pbs = _ratio(counts["professionals"], n_ic)
    cbs = _ratio(counts["collective"], counts["individual"])
    eq = _ratio(counts["equity"], n_ic)
    sy = _ratio(counts["systemic"], n_icc)
    scores: dict[str, float | None] = {
        "participation": n_part / len(ps) if ps else None,
        "professional_blind_spot": None if pbs is None else 1 - min(1.0, pbs),
        "collective_blind_spot": None if cbs is None else 1 - min(1.0, cbs),
        "consultation_share": _ratio(counts["consultation"], n_cc),
        "equity_coverage": None if eq is None else min(1.0, eq),
        "systemic_coverage": None if sy is None else min(1.0, sy),
    }
    return Expected(doc, counts, len(ps), n_ic, n_icc, n_cc, n_part, scores)


def band(value: float | None) -> str:
    if value is None:
        return "undefined"
    if value >= 0.7:
        return "high"
    if value <= 0.3:
        return "low"
    return "mid"


def _word_hits(text: str, words: Iterable[str]) -> list[str]:
    low = text.lower()
    return sorted({w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low)})


def check_design(exp: Expected) -> list[str]:
    """Return the ways a document misses what its groups say it was written to show."""
    doc, s, problems = exp.doc, exp.scores, []
    groups = set(doc.list_meta("groups"))
    body = "\n".join(
        b.text if isinstance(b, (Heading, Para)) else " ".join((*b.header, *(c for r in b.rows for c in r)))
        for b in doc.blocks
        if not isinstance(b, Directive)
    )
    body += "\n" + doc.meta["title"] + "\n" + doc.meta.get("subtitle", "")
    if "no-citizens" not in groups and exp.n_passages < MIN_PASSAGES:
        problems.append(f"only {exp.n_passages} passages (< {MIN_PASSAGES})")
    if "professional-blind-spot" in groups:
        if s["professional_blind_spot"] != 1.0:
            problems.append(f"professional_blind_spot is {s['professional_blind_spot']}, not 1")
        hits = _word_hits(body, PROFESSIONAL_WORDS)
        if re.search(r"(?<!member of )\bstaff\b", body.lower()):
            hits.append("staff")
        if hits:
            problems.append(f"mentions front-line professionals: {hits}")
    if "collective-blind-spot" in groups:
        if s["collective_blind_spot"] != 1.0:
            problems.append(f"collective_blind_spot is {s['collective_blind_spot']}, not 1")
        if hits := _word_hits(body, COLLECTIVE_WORDS):
            problems.append(f"mentions civil society organisations: {hits}")
    if "balanced" in groups:
        if s["professional_blind_spot"] != 0.0 or s["collective_blind_spot"] != 0.0:
            problems.append(
                f"blind spots are {s['professional_blind_spot']}, {s['collective_blind_spot']}, not 0"
            )
        if exp.counts["equity"] < 2 or exp.counts["systemic"] < 2:
            problems.append("balanced documents need equity and systemic passages (2+ each)")
    if "no-citizens" in groups and exp.n_ind_or_coll >= MIN_DENOMINATOR:
        problems.append(f"{exp.n_ind_or_coll} passages speak of citizens; blind spots would be defined")
    if "mid-range" in groups:
        for name in ("professional_blind_spot", "collective_blind_spot"):
            if band(s[name]) != "mid":
                problems.append(f"{name} is {s[name]}, not mid-range")
    if "collective-undefined" in groups and (
        s["collective_blind_spot"] is not None or s["professional_blind_spot"] is None
    ):
        problems.append("collective_blind_spot should be undefined and professional_blind_spot defined")
    if "consultation-only" in groups and (exp.counts["cocreation"] or exp.counts["consultation"] < 2):
        problems.append("consultation-only documents have consultation passages and no cocreation")
    words = len(re.findall(r"\w+", body))
    low = 400 if doc.meta["language"] == "en" else 250  # the French document is short on purpose
    if not low <= words <= 1300:
        problems.append(f"{words} words, outside {low}-1,300")
    return problems


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def write_manifest(docs: Sequence[SourceDoc], out: Path) -> None:
    with (out / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for d in docs:
            writer.writerow([d.doc_id, d.file, d.meta["title"], d.meta["publisher"], d.meta["country"],
                             d.meta["year"], d.meta["doc_type"], d.meta["language"]])  # fmt: skip


EXPECTED_COLUMNS = (
    "doc_id", "file", "format", "language", "groups", "n_passages",
    *(f"n_{lb}" for lb in LABELS), "n_individual_or_collective",
    *SCORE_NAMES, *(f"{n}_band" for n in SCORE_NAMES if n != "participation"),
)  # fmt: skip


def write_expected_csv(exps: Sequence[Expected], out: Path) -> None:
    with (out / "expected.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(EXPECTED_COLUMNS)
        for e in exps:
            writer.writerow(
                [e.doc.doc_id, e.doc.file, e.doc.fmt, e.doc.meta["language"], ";".join(e.doc.list_meta("groups")),
                 e.n_passages, *(e.counts[lb] for lb in LABELS), e.n_ind_or_coll,
                 *(_fmt(e.scores[n]) for n in SCORE_NAMES),
                 *(band(e.scores[n]) for n in SCORE_NAMES if n != "participation")]
            )  # fmt: skip


def write_author_labels(docs: Sequence[SourceDoc], out: Path) -> None:
    with (out / "author_labels.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["doc_id", "index", "kind", "text", *LABELS])
        for d in docs:
            for i, p in enumerate(d.passages):
                kind = "list_item" if p.bullet else "paragraph"
                writer.writerow([d.doc_id, i, kind, plain(p.text), *(int(lb in p.labels) for lb in LABELS)])


def write_expected_md(exps: Sequence[Expected], pdf_pages: dict[str, int], out: Path) -> None:
    short = {"professional_blind_spot": "prof. blind spot", "collective_blind_spot": "coll. blind spot",
             "consultation_share": "consult. share", "equity_coverage": "equity cov.",
             "systemic_coverage": "systemic cov.", "participation": "participation"}  # fmt: skip

    def cell(v: float | None) -> str:
        return "undefined" if v is None else f"{v:.2f} ({band(v)})"

    lines = [
        "# Sample corpus: known answers",
        "",
        "<!-- Generated by scripts/build_sample_corpus.py from corpora/sample/src/*.md. Do not edit by hand. -->",
        "",
        "Every document in this corpus was written to show something about the codebook's document scores",
        '(`/work/shared/codebook.md` version 1.1, section "Document scores"). The author labelled each',
        "paragraph and list item of the sources against the codebook; the values below are the scores those",
        "gold labels give, with the union of labels taken as `max` (a passage counts once) and every ratio",
        f"undefined when its denominator is under {MIN_DENOMINATOR:g} passages. Bands: high >= 0.7, low <= 0.3,",
        "mid in between. The per-passage labels are in `author_labels.csv`; the numbers are in `expected.csv`.",
        "",
        "Passages are counted as the sources define them: each paragraph and each list item (lead-in",
        'sentences such as "The Ministry will:" are their own, unlabelled passage). Headings, the title block,',
        "tables, PDF running headers and footers, and HTML boilerplate carry no label. A toolkit that segments",
        "differently (for example joining a list item to its lead-in, or splitting table rows into passages)",
        "gets the same label counts but a slightly different `participation` denominator, so tests should",
        "compare blind spots and coverages tightly and `participation` loosely.",
        "",
        "The build script fails if a document misses its design: a document in the professional (collective)",
        "blind-spot group may not contain any word for front-line professionals (civil society organisations),",
        "balanced documents must score 0 on both blind spots, and so on (see `check_design`).",
        "",
        "## Summary",
        "",
        "| doc_id | file | lang | written to show | " + " | ".join(short[n] for n in SCORE_NAMES) + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in SCORE_NAMES) + " |",
    ]
    for e in exps:
        groups = ", ".join(e.doc.list_meta("groups"))
        lines.append(
            f"| {e.doc.doc_id} | {e.doc.file} | {e.doc.meta['language']} | {groups} | "
            + " | ".join(cell(e.scores[n]) for n in SCORE_NAMES)
            + " |"
        )
    lines += [
        "",
        "Groups: `professional-blind-spot` = citizens discussed, front-line professionals never;",
        "`collective-blind-spot` = citizens discussed, civil society organisations never; `balanced` =",
        "professionals and organisations discussed at least as often as citizens, with equity and systemic",
        "content; `no-citizens` = almost no mention of citizens, so the blind spots are undefined;",
        "`mid-range` = blind spots between 0.3 and 0.7; `collective-undefined` = organisations throughout but",
        "individual citizens in under 2 passages; `consultation-only` = involvement is all consultation;",
        "`french` = the one French document (for language detection).",
        "",
        "## Label counts",
        "",
        "| doc_id | passages | " + " | ".join(LABELS) + " | individual or collective |",
        "| --- | --- | " + " | ".join("---" for _ in LABELS) + " | --- |",
    ]
    for e in exps:
        lines.append(
            f"| {e.doc.doc_id} | {e.n_passages} | "
            + " | ".join(str(e.counts[lb]) for lb in LABELS)
            + f" | {e.n_ind_or_coll} |"
        )
    lines += ["", "## Documents", ""]
    for e in exps:
        d = e.doc
        lines += [
            f"### {d.doc_id}",
            "",
            f"- File: `{d.file}` ({d.fmt.upper()}"
            + (f", {pdf_pages[d.doc_id]} pages" if d.doc_id in pdf_pages else "")
            + f"), {d.meta['doc_type']}, {d.meta['publisher']}, {d.meta['country']}, {d.meta['year']}, "
            f"language `{d.meta['language']}`.",
            f"- Written to show: {d.meta.get('purpose', '')}",
            f"- Traps: {d.meta.get('traps', 'none')}",
            "",
        ]
    lines += [
        "## Format features",
        "",
        "| file | features |",
        "| --- | --- |",
    ]
    for e in exps:
        lines.append(f"| {e.doc.file} | {format_features(e.doc, pdf_pages.get(e.doc.doc_id))} |")
    lines += [
        "",
        "Notes on the PDFs: justified paragraphs are hyphenated at line ends from a hand-checked word list",
        '(`HYPHENATION_POINTS` in the build script), so a word such as "participation" may be printed as',
        '"partici-" / "pation"; genuine compounds ("co-design", "long-term", "front-line") may also break',
        "after their own hyphen and must keep it when lines are joined. pypdfium2's `get_text_range()` reports",
        "a line-end hyphen as U+FFFE (U+0002 through `FPDFText_GetUnicode`) and drops the line break after it,",
        "for soft breaks and compounds alike.",
        "",
    ]
    (out / "EXPECTED.md").write_text("\n".join(lines), encoding="utf-8", newline="\n")


def format_features(doc: SourceDoc, pages: int | None) -> str:
    has_table = any(isinstance(b, Table) for b in doc.blocks)
    has_bullets = any(isinstance(b, Para) and b.bullet for b in doc.blocks)
    feats: list[str] = []
    if doc.fmt in ("pdf", "scan"):
        if doc.fmt == "scan":
            feats.append(
                "image-only pages (printed and scanned: 200 dpi greyscale JPEG, up to 1.2 degrees askew, "
                "blur and noise), no text layer: read by OCR"
            )
        footer = '"Page N of M"' if doc.meta.get("pdf_footer", "page-of") == "page-of" else "page number"
        feats.append(
            f"{pages} pages; running header (title and publisher) and footer ({footer}) on every page"
        )
        if doc.meta.get("pdf_justify", "yes") == "yes":
            feats.append("justified Times paragraphs with end-of-line hyphenation")
        else:
            feats.append("ragged-right Helvetica, no hyphenation")
        if any(isinstance(b, Directive) and b.name == "columns 2" for b in doc.blocks):
            feats.append("one section laid out in two columns")
        if any(isinstance(b, Directive) and b.name == "pagebreak" for b in doc.blocks):
            feats.append("forced page break after the opening")
    elif doc.fmt == "docx":
        feats.append("running header (title) and footer (publisher, PAGE field); Title, Heading 1/2 styles")
        if has_bullets:
            feats.append("List Bullet items")
    elif doc.fmt == "html":
        feats.append("cookie banner, header with search and nav menu, breadcrumb, related-pages aside, footer "
                     "(contact, copyright, links) around main/article")  # fmt: skip
    elif doc.fmt == "md":
        feats.append("YAML front matter (title, date, author, description, lang, tags); emphasis, links")
    elif doc.fmt == "txt":
        feats.append("title in capitals, headings as lines followed by a blank line, paragraphs hard-wrapped at "
                     "78 columns (compounds may break after their hyphen), `*` bullets")  # fmt: skip
        if doc.meta["language"] != "en":
            feats.append(f"UTF-8, language {doc.meta['language']}")
    if has_bullets and doc.fmt in {"pdf", "html", "md", "txt"}:
        feats.append("bulleted list")
    if has_table:
        feats.append("table with a header row")
    return "; ".join(feats)


# --------------------------------------------------------------------------
# Build


RENDERERS: dict[str, Callable[[SourceDoc, Path], object]] = {
    "pdf": render_pdf,
    "scan": render_scan,
    "docx": render_docx,
    "html": render_html,
    "md": render_markdown,
    "txt": render_text,
}


def load_sources(src_dir: Path = SRC_DIR) -> list[SourceDoc]:
    docs = [parse_source(p) for p in sorted(src_dir.glob("*.md"))]
    if not docs:
        raise SourceError(f"no sources in {src_dir}")
    return docs


def build(out: Path, src_dir: Path = SRC_DIR) -> list[str]:
    """Build every output into ``out``; return the list of design problems (empty when all is well)."""
    docs = load_sources(src_dir)
    (out / DOCS_SUBDIR).mkdir(parents=True, exist_ok=True)
    exps = [expected_scores(d) for d in docs]
    problems = [f"{e.doc.doc_id}: {p}" for e in exps for p in check_design(e)]
    pdf_pages: dict[str, int] = {}
    for d in docs:
        result = RENDERERS[d.fmt](d, out / d.file)
        if d.fmt in ("pdf", "scan"):
            pdf_pages[d.doc_id] = int(result)  # type: ignore[call-overload]
    write_manifest(docs, out)
    write_expected_csv(exps, out)
    write_author_labels(docs, out)
    write_expected_md(exps, pdf_pages, out)
    return problems


GENERATED = ("manifest.csv", "expected.csv", "author_labels.csv", "EXPECTED.md")


def _generated_files(out: Path) -> list[str]:
    files = sorted(str(p.relative_to(out)) for p in (out / DOCS_SUBDIR).glob("*") if p.is_file())
    return files + [g for g in GENERATED if (out / g).exists()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            problems = build(Path(tmp))
            fresh, committed = _generated_files(Path(tmp)), _generated_files(SAMPLE_DIR)
            stale = sorted(set(fresh) ^ set(committed))
            stale += [
                f
                for f in fresh
                if f in committed and not filecmp.cmp(Path(tmp) / f, SAMPLE_DIR / f, shallow=False)
            ]
        for p in problems:
            print(f"design: {p}", file=sys.stderr)
        for f in sorted(set(stale)):
            print(f"stale: corpora/sample/{f}", file=sys.stderr)
        return 1 if problems or stale else 0
    for old in (SAMPLE_DIR / DOCS_SUBDIR).glob("*") if (SAMPLE_DIR / DOCS_SUBDIR).exists() else ():
        old.unlink()
    problems = build(SAMPLE_DIR)
    for p in problems:
        print(f"design: {p}", file=sys.stderr)
    print(
        f"Built {len(list((SAMPLE_DIR / DOCS_SUBDIR).glob('*')))} documents in {SAMPLE_DIR.relative_to(ROOT)}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
