"""Markdown reader: front matter removed, markup stripped, structure kept (headings, lists, tables).

- YAML front matter at the top gives the title; front matter blocks further
  down (site generators concatenate pages, each with its own) become a
  heading with that page's title, so their keys never read as prose.
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


def _embedded_front(match: re.Match[str]) -> str:
    title = _FRONT_TITLE.search(match.group(1))
    return f"\n# {title.group(1).strip()}\n" if title and title.group(1).strip() else "\n"


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
    row: list[str] = []
    rows: list[list[str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "list_item_open":
            # Ordered items keep their numbers ("3."): readers cite them.
            item_prefix.append(f"{tok.info}{tok.markup} " if tok.info else "")
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
