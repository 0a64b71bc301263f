"""Markdown reader: front matter removed, markup stripped, structure kept (headings, lists, tables)."""

from __future__ import annotations

import re

from . import RawBlock, ReadResult

_TAG = re.compile(r"<[^>]+>")
_TEMPLATE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{:[^}\n]*\}", re.S)
_FRONT = re.compile(r"\A---\s*\n.*?\n(?:---|\.\.\.)\s*\n", re.S)


def _inline_text(token) -> str:  # noqa: ANN001 - markdown_it Token
    """Plain text of an inline token: link and emphasis text kept, markup and images' URLs dropped."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content or "")
        elif child.type == "html_inline":
            continue
    return _TAG.sub("", "".join(parts))


def parse_markdown(text: str) -> ReadResult:
    """Parse Markdown into blocks.

    YAML front matter is removed (its ``title`` becomes the document title),
    HTML blocks are dropped, and code fences are skipped: neither is prose a
    policy reader would code.

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
    # Site-generator syntax is not prose: Liquid tags and kramdown attribute lists.
    body = _TEMPLATE.sub("", body)
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(body)
    blocks: list[RawBlock] = []
    stack: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type.endswith("_open") and tok.type != "inline":
            stack.append(tok.type[: -len("_open")])
        elif tok.type.endswith("_close"):
            if stack:
                stack.pop()
        elif tok.type == "inline":
            content = _inline_text(tok).strip()
            if not content:
                continue
            if "heading" in stack:
                level = int(tokens[i - 1].tag[1]) if tokens[i - 1].tag.startswith("h") else 2
                blocks.append(RawBlock("heading", content, level=level))
            elif "th" in stack or "td" in stack:
                blocks.append(RawBlock("table_cell", content))
            elif "list_item" in stack:
                # A second paragraph inside the same item continues that item.
                if blocks and blocks[-1].kind == "list_item" and tokens[i - 2].type != "list_item_open":
                    blocks[-1].text += " " + content
                else:
                    blocks.append(RawBlock("list_item", content))
            else:
                blocks.append(RawBlock("paragraph", content))
    return ReadResult(blocks=blocks, title=title)
