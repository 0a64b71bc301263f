"""HTML reader: the page's main content walked in order, its structure kept, site furniture left out.

A general-purpose boilerplate remover (trafilatura) was tried first; tuned
for news articles, it dropped captions, figure text, definition lists,
tables of figures and whole short pages. Government pages mark their
content up well (``<main>``, ``<article>``, ARIA roles), so this reader:

1. removes what is never content: scripts, styles, forms' controls, hidden
   elements, navigation (``<nav>``, ``role="navigation"``), side bars
   (``<aside>``), breadcrumbs, cookie banners, "skip to content" links and
   screen-reader-only hints, and the site's own header and footer (a
   ``<header>``/``<footer>`` outside the main content);
2. reads the main content (``<main>``, ``role="main"``, a single
   ``<article>``, else ``<body>``) element by element: headings, paragraphs,
   list items (ordered ones keep their numbers), definition terms and
   descriptions, block quotes, preformatted text, figure captions and
   table captions, and tables as one block each (one row per line, cells
   separated; a one-column table is a layout frame and is read as text).
   Text that sits directly in a ``<div>`` is a paragraph too.
"""

from __future__ import annotations

import re

from . import RawBlock, ReadResult, table_blocks

_WS = re.compile(r"\s+")
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "head",
    "nav",
    "aside",
    "button",
    "input",
    "select",
    "textarea",
    "option",
    "dialog",
)
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alertdialog"}
_DROP_CLASS = re.compile(
    r"(?:^|[\s_-])(?:cookie|cookies|consent|breadcrumbs?|skip-?link|skip-to|visually-?hidden|sr-only|"
    r"screen-reader|share|sharing|social|print-?link|back-to-top|pagination|feedback-?form)(?:$|[\s_-])",
    re.I,
)
_BLOCK = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "li", "main", "menu", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul", "legend",
}  # fmt: skip


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _text_of(el) -> str:  # noqa: ANN001 - lxml element
    """An element's text with a space where a line break or a block boundary separates words.

    ``text_content()`` glues "First line<br>Second line" into "First lineSecond line".
    """
    parts: list[str] = []

    def visit(node) -> None:  # noqa: ANN001
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str):
                tag = child.tag.lower()
                spaced = tag == "br" or tag in _BLOCK
                if spaced:
                    parts.append(" ")
                visit(child)
                if spaced:
                    parts.append(" ")
            if child.tail:
                parts.append(child.tail)

    visit(el)
    return _norm("".join(parts))


def _hidden(el) -> bool:  # noqa: ANN001 - lxml element
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    if (el.get("role") or "").lower() in _DROP_ROLES:
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}"
    return bool(names.strip()) and bool(_DROP_CLASS.search(names))


def _clean_tree(root) -> None:  # noqa: ANN001
    """Remove never-content elements in place (their tail text is kept)."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            if el.getparent() is not None:  # comments and processing instructions
                el.drop_tree()
            continue
        if el.getparent() is None:
            continue
        if el.tag in _DROP_TAGS or _hidden(el):
            el.drop_tree()


def _main_content(body):  # noqa: ANN001, ANN202
    """The element holding the page's main content."""
    for xpath in ("//main", "//*[@role='main']"):
        found = body.xpath(xpath)
        if found:
            return found[0]
    articles = body.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    # Outside a marked main element, the site's header and footer are furniture.
    for el in body.xpath("//header | //footer"):
        if not el.xpath("ancestor::article"):
            el.drop_tree()
    return body


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[RawBlock] = []
        self._inline: list[str] = []

    def flush(self, kind: str = "paragraph") -> None:
        text = _norm("".join(self._inline))
        self._inline = []
        if text:
            self.blocks.append(RawBlock(kind, text))  # type: ignore[arg-type]

    def walk(self, el) -> None:  # noqa: ANN001
        """Read ``el``'s children: inline text gathers into a paragraph, block elements are read as blocks."""
        if el.text:
            self._inline.append(el.text)
        for child in el:
            if isinstance(child.tag, str):
                self.element(child)
            if child.tail:
                self._inline.append(child.tail)

    def element(self, el) -> None:  # noqa: ANN001
        tag = el.tag.lower()
        if tag == "br":
            self._inline.append(" ")
            return
        if tag not in _BLOCK:
            self.walk(el)  # inline element: its text and its children's
            return
        self.flush()
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = _text_of(el)
            if text:
                self.blocks.append(RawBlock("heading", text, level=int(tag[1])))
        elif tag in ("ul", "ol", "menu"):
            self.list(el, ordered=tag == "ol")
        elif tag == "table":
            self.table(el)
        elif tag == "pre":
            text = _text_of(el)
            if text:
                self.blocks.append(RawBlock("paragraph", text))
        elif tag == "hr":
            pass
        else:
            self.walk(el)
            self.flush()

    def list(self, el, *, ordered: bool) -> None:  # noqa: ANN001
        start = el.get("start") or "1"
        number = int(start) if start.lstrip("-").isdigit() else 1
        for li in el:
            if not isinstance(li.tag, str):
                continue
            if li.tag.lower() != "li":
                self.element(li)
                continue
            if ordered:
                value = li.get("value")
                if value and value.lstrip("-").isdigit():
                    number = int(value)
                self._inline.append(f"{number}. ")
                number += 1
            # The item's own text first; nested lists and blocks inside it follow as blocks.
            if li.text:
                self._inline.append(li.text)
            for child in li:
                if isinstance(child.tag, str):
                    if child.tag.lower() in _BLOCK and child.tag.lower() not in ("p", "div", "span"):
                        self.flush("list_item")
                        self.element(child)
                    elif child.tag.lower() in ("p", "div"):
                        self.walk(child)
                        self._inline.append(" ")
                    else:
                        self.element(child)
                if child.tail:
                    self._inline.append(child.tail)
            self.flush("list_item")

    def table(self, el) -> None:  # noqa: ANN001
        caption = el.find("caption")
        if caption is not None:
            text = _text_of(caption)
            if text:
                self.blocks.append(RawBlock("paragraph", text))
        rows = [tr for tr in el.iter("tr") if _owner_table(tr) is el]
        cells = [[c for c in tr if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")] for tr in rows]
        if cells and max((sum(1 for c in r if _text_of(c)) for r in cells), default=0) <= 1:
            for r in cells:  # a layout table: one column of content
                for c in r:
                    self.walk(c)
                    self.flush()
            return
        self.blocks.extend(table_blocks([[_text_of(c) for c in r] for r in cells]))


def _owner_table(tr):  # noqa: ANN001, ANN202
    parent = tr.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def parse_html(html: str) -> ReadResult:
    """Extract the main text of an HTML page as blocks (see the module docstring).

    Example:
        >>> page = "<html><body><nav>Home | About</nav><main><h1>Plan</h1><p>" + "Residents shape the budget. " * 5 + "</p></main></body></html>"
        >>> [b.kind for b in parse_html(page).blocks]
        ['heading', 'paragraph']
    """
    import lxml.html

    if not html.strip():
        return ReadResult(blocks=[])
    try:
        tree = lxml.html.document_fromstring(html)
    except Exception:  # noqa: BLE001 - lxml raises on documents it cannot recover (e.g. only a declaration)
        return ReadResult(blocks=[])
    title = ""
    found = tree.xpath("//meta[@property='og:title']/@content") or tree.xpath("//title/text()")
    if found:
        title = _norm(str(found[0]))
    body = tree.find("body")
    if body is None:
        body = tree
    _clean_tree(body)
    root = _main_content(body)
    walker = _Walker()
    walker.walk(root)
    walker.flush()
    return ReadResult(blocks=walker.blocks, title=title)
