"""HTML reader: boilerplate (navigation, cookie banners, footers) removed with trafilatura."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from . import RawBlock, ReadResult

_WS = re.compile(r"\s+")


def _text(el: ET.Element) -> str:
    return _WS.sub(" ", "".join(el.itertext())).strip()


def _walk(el: ET.Element, blocks: list[RawBlock]) -> None:
    for child in el:
        tag = child.tag
        if tag == "head":
            rend = child.get("rend", "h2")
            level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
            if txt := _text(child):
                blocks.append(RawBlock("heading", txt, level=level))
        elif tag == "p" or tag == "quote":
            if txt := _text(child):
                blocks.append(RawBlock("paragraph", txt))
        elif tag == "list":
            for item in child:
                if item.tag != "item":
                    continue
                nested = [c for c in item if c.tag == "list"]
                for n in nested:
                    item.remove(n)
                if txt := _text(item):
                    blocks.append(RawBlock("list_item", txt))
                for n in nested:
                    _walk(_wrap(n), blocks)
        elif tag == "table":
            for row in child.iter("row"):
                for cell in row:
                    if txt := _text(cell):
                        blocks.append(RawBlock("table_cell", txt))
        elif tag in ("main", "div", "section", "comments"):
            if tag != "comments":
                _walk(child, blocks)
        else:
            if txt := _text(child):
                blocks.append(RawBlock("paragraph", txt))


def _wrap(el: ET.Element) -> ET.Element:
    holder = ET.Element("div")
    holder.append(el)
    return holder


def parse_html(html: str) -> ReadResult:
    """Extract the main text of an HTML page as blocks.

    trafilatura's XML output keeps headings, lists and tables apart, so list
    items and table cells become passages of their own and headings become
    context; navigation, banners and footers are left out.

    Example:
        >>> page = "<html><body><nav>Home | About</nav><main><h1>Plan</h1><p>" + "Residents shape the budget. " * 5 + "</p></main></body></html>"
        >>> [b.kind for b in parse_html(page).blocks]
        ['heading', 'paragraph']
    """
    import trafilatura

    xml = trafilatura.extract(
        html,
        output_format="xml",
        include_tables=True,
        include_formatting=False,
        include_comments=False,
        include_links=False,
        favor_recall=True,
    )
    title = ""
    blocks: list[RawBlock] = []
    if xml:
        root = ET.fromstring(xml)
        title = root.get("title", "") or ""
        main = root.find("main")
        if main is not None:
            _walk(main, blocks)
    return ReadResult(blocks=blocks, title=title)
