"""Markdown reader: front matter removed, markup stripped, structure kept (headings, lists, tables).

- YAML front matter at the top gives the title; front matter blocks further
  down (site generators concatenate pages, each with its own) give their
  headings and texts (``title``/``headline`` and ``text``/``what``/``why``...,
  also inside lists of cards), so their other keys never read as prose.
- Without a front-matter title, the first level-1 heading is the title.
- Inline HTML tags are dropped but their text kept, except the contents of
  ``<script>`` and ``<style>``; HTML blocks are read with the HTML reader's
  walker, so a ``<table>`` or ``<div>`` in Markdown keeps its text.
- Footnote markers (``[^1]``) are removed; footnote texts stay as paragraphs.
- Ordered list items keep their numbers; tables become one block each.
- Code blocks and fences are left out: they are not prose a reader codes.
"""

from __future__ import annotations

import re

from . import RawBlock, ReadResult, table_blocks

_TAG = re.compile(r"<[^>]+>")
_TEMPLATE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{:[^}\n]*\}", re.S)
_FRONT = re.compile(r"\A---\s*\n.*?\n(?:---|\.\.\.)\s*\n", re.S)
# A front matter block inside the text: a line of dashes, then only "key: value"
# lines (or their indented continuations and comments), then a closing line.
_EMBEDDED_FRONT = re.compile(
    r"(?m)^---[ \t]*\n((?:[A-Za-z_][\w-]*:.*\n|[ \t]+.*\n|#.*\n|[ \t]*\n)+?)---[ \t]*$"
)
_FRONT_TITLE = re.compile(r"(?m)^title:[ \t]*['\"]?(.*?)['\"]?[ \t]*$")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]")
_FOOTNOTE_DEF = re.compile(r"^\[\^[^\]\s]+\]:\s*")
_SCRIPT_OPEN = re.compile(r"<(script|style)\b", re.I)


# Keys of a site generator's page data that hold what the page shows (others are
# layout, links and metadata): headings and text.
_HEADING_KEYS = ("title", "headline", "heading")
_TEXT_KEYS = ("text", "body", "content", "summary", "intro", "lead", "what", "why")


def _yaml_markdown(data: object, level: int) -> list[str]:
    """Markdown for the content-bearing values of parsed page data (cards, titles, texts)."""
    out: list[str] = []
    if isinstance(data, dict):
        for key in _HEADING_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                out.append(f"{'#' * min(level, 6)} {value.strip()}")
                break
        for key in _TEXT_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                out.append(value.strip())
        for value in data.values():
            if isinstance(value, list):
                for item in value:
                    out.extend(_yaml_markdown(item, level + 1))
    return out


def _embedded_front(match: re.Match[str]) -> str:
    """A front matter block inside the text: its headings and texts as Markdown, the rest dropped."""
    import yaml

    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        title = _FRONT_TITLE.search(match.group(1))
        data = {"title": title.group(1)} if title else {}
    parts = _yaml_markdown(data, 1)
    return "\n" + "\n\n".join(parts) + "\n" if parts else "\n"


def _inline_text(token) -> str:  # noqa: ANN001 - markdown_it Token
    """Plain text of an inline token: link and emphasis text kept, markup and script contents dropped."""
    parts: list[str] = []
    skipping: str | None = None
    for child in token.children or []:
        if child.type == "html_inline":
            m = _SCRIPT_OPEN.match(child.content)
            if m and not child.content.rstrip().endswith("/>"):
                skipping = m.group(1).lower()
            elif skipping and child.content.lower().startswith(f"</{skipping}"):
                skipping = None
            elif child.content.lower().startswith("<br"):
                parts.append(" ")
            continue
        if skipping:
            continue
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content or "")
    text = _TAG.sub("", "".join(parts))
    # A footnote's text keeps its words; the markers that point to it go.
    return _FOOTNOTE_REF.sub("", _FOOTNOTE_DEF.sub("", text.lstrip()))


def _html_block(html: str) -> list[RawBlock]:
    """Blocks of an HTML fragment inside Markdown, read like a page's main content."""
    from lxml import etree
    from lxml import html as lxml_html

    from .html import _clean_tree, _Walker

    try:
        holder = lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    _clean_tree(holder)
    walker = _Walker()
    walker.walk(holder)
    walker.flush()
    return walker.blocks


def parse_markdown(text: str) -> ReadResult:
    """Parse Markdown into blocks (see the module docstring).

    Example:
        >>> r = parse_markdown("---\\ntitle: T\\n---\\n# H\\n\\nA *b* [c](d).\\n\\n- one\\n")
        >>> r.title, [(b.kind, b.text) for b in r.blocks]
        ('T', [('heading', 'H'), ('paragraph', 'A b c.'), ('list_item', 'one')])
    """
    from markdown_it import MarkdownIt

    title = ""
    match = _FRONT.match(text)
    if match:
        try:
            import frontmatter

            post = frontmatter.loads(text)
            title = str(post.metadata.get("title", "") or "")
            body = post.content
        except Exception:  # malformed YAML: drop the block, keep the text
            body = text[match.end() :]
    else:
        body = text
    body = _EMBEDDED_FRONT.sub(_embedded_front, body)
    # Site-generator syntax is not prose: Liquid tags and kramdown attribute lists.
    body = _TEMPLATE.sub("", body)
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(body)
    blocks: list[RawBlock] = []
    stack: list[str] = []
    item_prefix: list[str] = []
    numbers: list[int | None] = []
    row: list[str] = []
    rows: list[list[str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "ordered_list_open":
            start = tok.attrGet("start")
            numbers.append(int(start) if isinstance(start, (int, str)) and str(start).isdigit() else 1)
        elif tok.type == "bullet_list_open":
            numbers.append(None)
        elif tok.type in ("ordered_list_close", "bullet_list_close") and numbers:
            numbers.pop()
        if tok.type == "list_item_open":
            # Ordered items keep their numbers as rendered ("1. 1. 1." shows as 1, 2, 3): readers cite them.
            number = numbers[-1] if numbers else None
            item_prefix.append(f"{number}{tok.markup} " if number is not None else "")
            if number is not None:
                numbers[-1] = number + 1
        elif tok.type == "list_item_close" and item_prefix:
            item_prefix.pop()
        if tok.type == "html_block":
            blocks.extend(_html_block(tok.content))
            continue
        if tok.type == "tr_close":
            rows.append(row)
            row = []
        elif tok.type == "table_close":
            blocks.extend(table_blocks(rows))
            rows = []
        if tok.type.endswith("_open") and tok.type != "inline":
            stack.append(tok.type[: -len("_open")])
        elif tok.type.endswith("_close"):
            if stack:
                stack.pop()
        elif tok.type == "inline":
            content = _inline_text(tok).strip()
            if "th" in stack or "td" in stack:
                row.append(content)
                continue
            if not content:
                continue
            if "heading" in stack:
                level = int(tokens[i - 1].tag[1]) if tokens[i - 1].tag.startswith("h") else 2
                if level == 1 and not title:
                    title = content
                blocks.append(RawBlock("heading", content, level=level))
            elif "list_item" in stack:
                # A second paragraph inside the same item continues that item.
                if blocks and blocks[-1].kind == "list_item" and tokens[i - 2].type != "list_item_open":
                    blocks[-1].text += " " + content
                else:
                    prefix = item_prefix[-1] if item_prefix and tokens[i - 2].type == "list_item_open" else ""
                    blocks.append(RawBlock("list_item", prefix + content))
            else:
                blocks.append(RawBlock("paragraph", content))
    return ReadResult(blocks=blocks, title=title)
