"""DOCX reader: the body's XML walked in order, so that no text is lost.

python-docx's ``Paragraph.text`` sees only the runs directly inside a
paragraph; Word documents also keep text in content controls (``w:sdt``,
used by templates for titles, cover pages and form fields), in text boxes and
shapes (``w:txbxContent``, inside drawings and VML pictures), in hyperlinks,
tracked insertions, fields and smart tags. This reader walks the document
XML itself (python-docx opens the package and supplies the style table):

- paragraphs, in order, wherever they sit (body, content controls, table
  cells, text boxes, which follow the paragraph that anchors them);
- a shape's text is taken once: Word stores it twice (a DrawingML "choice"
  and a VML "fallback") inside ``mc:AlternateContent``;
- headings by style name or outline level (resolved through the style's
  ``basedOn`` chain, so a custom "My heading" based on Heading 2 is one),
  list items by numbering on the paragraph or its style;
- tables as one block each, one row per line with cells separated; a
  one-column table is a text frame and its paragraphs are read as such;
- deleted text (tracked changes) and field instructions are left out;
- headers and footers are tagged (``header``/``footer``) and never become
  passages; footnotes and endnotes are read after the body.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import RawBlock, ReadResult, table_blocks

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_WS = re.compile(r"\s+")
_HEADING_NAME = re.compile(r"^(?:heading|überschrift|titre|titolo|título|kop|rubrik)\s*(\d)", re.I)

# Elements whose content is read as the paragraph's own text.
_INLINE_CONTAINERS = {
    W + "hyperlink",
    W + "ins",
    W + "moveTo",
    W + "smartTag",
    W + "customXml",
    W + "fldSimple",
    W + "bdo",
    W + "dir",
    W + "sdtContent",
    M + "oMathPara",
    M + "oMath",
}
_SKIPPED = {W + "del", W + "moveFrom", W + "instrText", W + "delText", W + "pPr", W + "rPr", W + "sdtPr"}


def _clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


class _Styles:
    """Heading level and list numbering of each paragraph style, resolved through ``basedOn``."""

    def __init__(self, document) -> None:  # noqa: ANN001 - docx Document
        self.name: dict[str, str] = {}
        self._based: dict[str, str] = {}
        self._outline: dict[str, int] = {}
        self._numbered: set[str] = set()
        self._numpr: dict[str, tuple[str, int]] = {}
        self.default = ""
        try:
            root = document.styles.element
        except Exception:  # noqa: BLE001 - a package without styles
            return
        for st in root.iter(W + "style"):
            if st.get(W + "type") != "paragraph":
                continue
            sid = st.get(W + "styleId") or ""
            name_el = st.find(W + "name")
            self.name[sid] = (name_el.get(W + "val") if name_el is not None else "") or sid
            based = st.find(W + "basedOn")
            if based is not None:
                self._based[sid] = based.get(W + "val") or ""
            ppr = st.find(W + "pPr")
            if ppr is not None:
                lvl = ppr.find(W + "outlineLvl")
                if lvl is not None and (lvl.get(W + "val") or "").isdigit():
                    self._outline[sid] = int(lvl.get(W + "val") or 9)
                num = ppr.find(W + "numPr")
                if num is not None:
                    num_id = num.find(W + "numId")
                    if num_id is None or num_id.get(W + "val") != "0":
                        self._numbered.add(sid)
                        ilvl = num.find(W + "ilvl")
                        self._numpr[sid] = (
                            (num_id.get(W + "val") or "") if num_id is not None else "",
                            int(ilvl.get(W + "val") or 0) if ilvl is not None else 0,
                        )
            if st.get(W + "default") in ("1", "true"):
                self.default = sid

    def _chain(self, sid: str) -> list[str]:
        out: list[str] = []
        while sid and sid not in out and len(out) < 20:
            out.append(sid)
            sid = self._based.get(sid, "")
        return out

    def heading_level(self, sid: str) -> int:
        """1-6 for a title or heading style, 0 otherwise."""
        for s in self._chain(sid):
            name = self.name.get(s, s)
            if name.lower() in ("title", "titel", "titre", "titolo", "título"):
                return 1
            m = _HEADING_NAME.match(name) or _HEADING_NAME.match(s)
            if m:
                return max(1, min(int(m.group(1)), 6))
            if s in self._outline and self._outline[s] < 9:
                return min(self._outline[s] + 1, 6)
        return 0

    def numbering(self, sid: str) -> tuple[str, int] | None:
        """(numId, level) of the numbering a paragraph style applies, if any."""
        for s in self._chain(sid):
            if s in self._numpr:
                return self._numpr[s]
        return None

    def is_list(self, sid: str) -> bool:
        return any(
            s in self._numbered or self.name.get(s, s).lower().startswith("list") for s in self._chain(sid)
        )


def _roman(n: int) -> str:
    out = ""
    for value, numeral in (
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ):
        while n >= value:
            out += numeral
            n -= value
    return out


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


_FORMATS = {
    "decimal": str,
    "decimalZero": lambda n: f"{n:02d}",
    "lowerLetter": _letters,
    "upperLetter": lambda n: _letters(n).upper(),
    "lowerRoman": _roman,
    "upperRoman": lambda n: _roman(n).upper(),
}


class _Numbering:
    """Renders Word's list and heading numbers ("2.", "1.3.", "b)"), which are not in the text runs.

    Readers cite sections and items by these numbers, so they are part of the
    text. Bullets carry no number and render as nothing. Counters are kept per
    abstract list (per list instance where it restarts its numbering), and a
    level's counter restarts when a higher level advances.
    """

    def __init__(self, document) -> None:  # noqa: ANN001
        self._num: dict[str, tuple[str, dict[int, int]]] = {}
        self._levels: dict[str, dict[int, tuple[int, str, str]]] = {}
        self._counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except Exception:  # noqa: BLE001 - no numbering part
            return
        for absn in root.iter(W + "abstractNum"):
            levels: dict[int, tuple[int, str, str]] = {}
            for lvl in absn.iter(W + "lvl"):
                ilvl = int(lvl.get(W + "ilvl") or 0)
                start = lvl.find(W + "start")
                fmt = lvl.find(W + "numFmt")
                text = lvl.find(W + "lvlText")
                levels[ilvl] = (
                    int(start.get(W + "val") or 1) if start is not None else 1,
                    (fmt.get(W + "val") or "decimal") if fmt is not None else "decimal",
                    (text.get(W + "val") or "") if text is not None else "",
                )
            self._levels[absn.get(W + "abstractNumId") or ""] = levels
        for num in root.iter(W + "num"):
            absn = num.find(W + "abstractNumId")
            overrides: dict[int, int] = {}
            for ov in num.iter(W + "lvlOverride"):
                so = ov.find(W + "startOverride")
                if so is not None:
                    overrides[int(ov.get(W + "ilvl") or 0)] = int(so.get(W + "val") or 1)
            self._num[num.get(W + "numId") or ""] = (
                absn.get(W + "val") or "" if absn is not None else "",
                overrides,
            )

    def label(self, num_id: str, ilvl: int) -> str:
        """Advance the list's counter at ``ilvl`` and return the rendered number ("" for bullets)."""
        if num_id not in self._num:
            return ""
        abstract, overrides = self._num[num_id]
        levels = self._levels.get(abstract, {})
        if ilvl not in levels:
            return ""
        key = f"{abstract}/{num_id}" if overrides else abstract
        counters = self._counters.get(key)
        if counters is None:
            counters = [levels.get(i, (1, "", ""))[0] - 1 for i in range(9)]
            for i, start in overrides.items():
                if 0 <= i < 9:
                    counters[i] = start - 1
            self._counters[key] = counters
        counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = levels.get(deeper, (1, "", ""))[0] - 1
        start, fmt, text = levels[ilvl]
        if fmt in ("bullet", "none") or not text:
            return ""

        def render(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            if not 0 <= k < 9:
                return ""
            value = max(counters[k], levels.get(k, (1, "", ""))[0])
            fmt_k = levels.get(k, (1, "decimal", ""))[1]
            return _FORMATS.get(fmt_k, str)(value) if fmt_k not in ("bullet", "none") else ""

        return re.sub(r"%(\d)", render, text).strip()


class _Reader:
    def __init__(self, styles: _Styles, numbering: _Numbering) -> None:
        self.styles = styles
        self.numbering = numbering
        self.blocks: list[RawBlock] = []

    # ------------------------------------------------------------------ containers

    def container(self, el) -> None:  # noqa: ANN001 - lxml element
        """Read block-level content: paragraphs, tables, content controls."""
        for child in el:
            tag = child.tag
            if tag == W + "p":
                self.paragraph(child)
            elif tag == W + "tbl":
                self.table(child)
            elif tag in (W + "sdt", W + "customXml"):
                content = child.find(W + "sdtContent") if tag == W + "sdt" else child
                if content is not None:
                    self.container(content)
            elif tag == MC + "AlternateContent":
                branch = _choose(child)
                if branch is not None:
                    self.container(branch)

    def paragraph(self, p) -> None:  # noqa: ANN001
        parts: list[str] = []
        boxes: list = []
        _inline(p, parts, boxes)
        text = _clean("".join(parts))
        if text:
            self.blocks.append(self._classify(p, text))
        for box in boxes:
            self.container(box)

    def _classify(self, p, text: str) -> RawBlock:  # noqa: ANN001
        ppr = p.find(W + "pPr")
        sid = ""
        numpr: tuple[str, int] | None = None
        outline = None
        if ppr is not None:
            ps = ppr.find(W + "pStyle")
            if ps is not None:
                sid = ps.get(W + "val") or ""
            num = ppr.find(W + "numPr")
            if num is not None:
                num_id = num.find(W + "numId")
                ilvl = num.find(W + "ilvl")
                numpr = (
                    (num_id.get(W + "val") or "") if num_id is not None else "",
                    int(ilvl.get(W + "val") or 0) if ilvl is not None else 0,
                )
            lvl = ppr.find(W + "outlineLvl")
            if lvl is not None and (lvl.get(W + "val") or "").isdigit():
                outline = int(lvl.get(W + "val") or 9)
        sid = sid or self.styles.default
        if numpr is None:
            numpr = self.styles.numbering(sid)
        elif not numpr[0]:
            numpr = (getattr(self.styles.numbering(sid), "__getitem__", lambda _: "")(0), numpr[1])
        numbered = numpr is not None and numpr[0] not in ("", "0")
        if numbered and numpr is not None:
            label = self.numbering.label(numpr[0], numpr[1])
            if label:
                text = f"{label} {text}"
        level = self.styles.heading_level(sid)
        if not level and outline is not None and outline < 9:
            level = min(outline + 1, 6)
        if level:
            return RawBlock("heading", text, level=level)
        if numbered or self.styles.is_list(sid):
            return RawBlock("list_item", text)
        return RawBlock("paragraph", text)

    def table(self, tbl) -> None:  # noqa: ANN001
        rows: list[list] = []
        for tr in _children(tbl, W + "tr"):
            rows.append(list(_children(tr, W + "tc")))
        if rows and max(sum(1 for tc in r if _has_text(tc)) for r in rows) <= 1:
            # A one-column table is a frame around text (a call-out box, a form's
            # text area): its paragraphs are read as paragraphs.
            for r in rows:
                for tc in r:
                    self.container(tc)
            return
        self.blocks.extend(table_blocks([[_cell_text(tc) for tc in r] for r in rows]))


def _children(el, tag: str):  # noqa: ANN001, ANN202
    """Children with ``tag``, looking through content controls and custom XML wrappers."""
    for child in el:
        if child.tag == tag:
            yield child
        elif child.tag in (W + "sdt", W + "customXml"):
            content = child.find(W + "sdtContent") if child.tag == W + "sdt" else child
            if content is not None:
                yield from _children(content, tag)


def _choose(alt):  # noqa: ANN001, ANN202
    """The branch of ``mc:AlternateContent`` to read: the first choice, else the fallback."""
    choice = alt.find(MC + "Choice")
    return choice if choice is not None else alt.find(MC + "Fallback")


def _inline(el, parts: list[str], boxes: list) -> None:  # noqa: ANN001
    """Collect a paragraph's text in order; text boxes found on the way go to ``boxes``."""
    for child in el:
        tag = child.tag
        if tag in _SKIPPED:
            continue
        if tag == W + "t" or tag == M + "t":
            parts.append(child.text or "")
        elif tag in (W + "tab", W + "ptab"):
            parts.append(" ")
        elif tag in (W + "br", W + "cr"):
            parts.append(" ")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                _inline(content, parts, boxes)
        elif tag == MC + "AlternateContent":
            branch = _choose(child)
            if branch is not None:
                _inline(branch, parts, boxes)
        elif tag == W + "txbxContent":
            boxes.append(child)
        elif tag in _INLINE_CONTAINERS or tag in (W + "r", W + "drawing", W + "pict", W + "object"):
            _inline(child, parts, boxes)
        elif len(child):
            # Drawing and VML wrappers (wp:inline, a:graphic, v:shape, ...) lead to text boxes.
            _find_boxes(child, boxes)


def _find_boxes(el, boxes: list) -> None:  # noqa: ANN001
    for child in el:
        if child.tag == W + "txbxContent":
            boxes.append(child)
        elif child.tag == MC + "AlternateContent":
            branch = _choose(child)
            if branch is not None:
                _find_boxes(branch, boxes)
        elif len(child):
            _find_boxes(child, boxes)


def _has_text(tc) -> bool:  # noqa: ANN001
    return any((t.text or "").strip() for t in tc.iter(W + "t"))


def _cell_text(tc) -> str:  # noqa: ANN001
    """A cell's paragraphs (and nested tables) as one line of text."""
    parts: list[str] = []
    for el in tc.iter(W + "p"):
        bits: list[str] = []
        boxes: list = []
        _inline(el, bits, boxes)
        text = _clean("".join(bits))
        if text:
            parts.append(text)
    return (
        "; ".join(parts)
        if len(parts) > 1 and not all(p.endswith((".", ":", ";")) for p in parts[:-1])
        else " ".join(parts)
    )


def _part_paragraphs(element) -> list[str]:  # noqa: ANN001 - an lxml element
    out = []
    for p in element.iter(W + "p"):
        bits: list[str] = []
        _inline(p, bits, [])
        text = _clean("".join(bits))
        if text:
            out.append(text)
    return out


def _notes(document) -> list[str]:  # noqa: ANN001
    """Footnote and endnote texts (separator notes left out)."""
    out: list[str] = []
    for rel in document.part.rels.values():
        if rel.is_external or not rel.reltype.endswith(("/footnotes", "/endnotes")):
            continue
        try:
            from lxml import etree

            root = etree.fromstring(rel.target_part.blob)
        except Exception:  # noqa: BLE001 - a damaged notes part must not cost the document
            continue
        for note in root:
            if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            bits: list[str] = []
            for p in note.iter(W + "p"):
                _inline(p, bits, [])
                bits.append(" ")
            text = _clean("".join(bits))
            if text:
                out.append(text)
    return out


def parse_docx(path: Path) -> ReadResult:
    """Read a DOCX file (see the module docstring for what is read and how).

    Each distinct header and footer text is kept once as a
    ``header``/``footer`` block: tagged, never a passage.
    """
    import docx

    document = docx.Document(str(path))
    reader = _Reader(_Styles(document), _Numbering(document))
    seen: set[tuple[str, str]] = set()
    headers: list[RawBlock] = []
    footers: list[RawBlock] = []
    for section in document.sections:
        for attr, kind, out in (
            ("header", "header", headers),
            ("first_page_header", "header", headers),
            ("even_page_header", "header", headers),
            ("footer", "footer", footers),
            ("first_page_footer", "footer", footers),
            ("even_page_footer", "footer", footers),
        ):
            try:
                part = getattr(section, attr)
                if part.is_linked_to_previous:
                    continue
                texts = _part_paragraphs(part._element)
            except Exception:  # noqa: BLE001 - python-docx raises on a missing part
                continue
            for text in texts:
                if (kind, text) not in seen:
                    seen.add((kind, text))
                    out.append(RawBlock(kind, text))  # type: ignore[arg-type]
    reader.container(document.element.body)
    notes = [RawBlock("paragraph", t) for t in _notes(document)]
    title = document.core_properties.title or ""
    return ReadResult(blocks=headers + reader.blocks + notes + footers, title=title)
