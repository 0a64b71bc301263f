"""Stage 2: turn a document's blocks into passages, the unit of labelling.

A passage is what a reader codes as one piece of argument: a paragraph,
together with the list items it introduces and the short lines (labels such
as "Erläuterung:", one-line notes) that belong to it. Readers report list
items and short lines as blocks of their own, which as passages would be
fragments too short to label; here consecutive ones are grouped into the
paragraph they belong to (up to ``max_words``), and a passage's offsets span
exactly the blocks it groups.

Nothing a reader found is dropped: headings and tables become passages of
their own kinds (``heading``, ``table``), which are kept in the passage
table but are not labelling units (:func:`~cocreation_nlp.types.is_labelling_unit`).
A heading is also the ``heading`` context of the passages under it. Running
headers and footers are the only blocks left out. A "heading" longer than a
heading can be is body text that a reader mistook for a heading (a bold
sentence, a run of large print) and is treated as a paragraph. A very long
block is cut at sentence boundaries so that no passage mixes many topics;
spaCy (a blank pipeline with a sentencizer, which works offline) finds those
boundaries, and is used here and nowhere else in the ingest path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .types import Block, Document, Passage, fingerprint, is_labelling_unit

DEFAULT_MAX_WORDS = 250
MAX_HEADING_WORDS = 20
"""A heading block with more words than this is body text."""
SHORT_WORDS = 8
"""A paragraph of fewer words is a short line: it joins the passage next to it."""
SPACY_LANGS = ("en", "fr", "de", "es", "it", "nl", "pt", "da", "sv", "pl")
_SENTENCE_END = re.compile(r"[.!?…]['\"”’)\]]*$")


@lru_cache(maxsize=16)
def sentence_pipeline(language: str = "en"):  # noqa: ANN201 - spacy.Language, imported lazily
    """A blank spaCy pipeline with a rule-based sentencizer for ``language`` (``xx`` when unknown)."""
    import spacy

    lang = language if language in SPACY_LANGS else "xx"
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def _sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    doc = sentence_pipeline(language)(text)
    return [(s.start_char, s.end_char) for s in doc.sents]


def _chunks(text: str, start: int, language: str, max_words: int) -> list[tuple[int, int]]:
    """Split a long block into runs of whole sentences of at most ~max_words words each."""
    if len(text.split()) <= max_words:
        return [(start, start + len(text))]
    spans = _sentence_spans(text, language)
    out: list[tuple[int, int]] = []
    cur_start: int | None = None
    cur_end = 0
    words = 0
    for s, e in spans:
        n = len(text[s:e].split())
        if cur_start is not None and words + n > max_words:
            out.append((start + cur_start, start + cur_end))
            cur_start, words = None, 0
        if cur_start is None:
            cur_start = s
        cur_end = e
        words += n
    if cur_start is not None:
        out.append((start + cur_start, start + cur_end))
    return out


def _table_chunks(text: str, start: int, max_words: int) -> list[tuple[int, int]]:
    """Split a table into runs of whole rows of at most ~max_words words each."""
    out: list[tuple[int, int]] = []
    pos = 0
    cur_start: int | None = None
    cur_end = 0
    words = 0
    for row in text.split("\n"):
        n = len(row.split())
        if cur_start is not None and words + n > max_words:
            out.append((start + cur_start, start + cur_end))
            cur_start, words = None, 0
        if cur_start is None:
            cur_start = pos
        cur_end = pos + len(row)
        words += n
        pos += len(row) + 1
    if cur_start is not None:
        out.append((start + cur_start, start + cur_end))
    return out


def heading_is_body(text: str) -> bool:
    """Whether a block a reader called a heading is too long to be one.

    Example:
        >>> heading_is_body("Working with residents")
        False
        >>> heading_is_body("Residents were asked to comment on every draft of the plan, and their comments were published.")
        True
    """
    n = len(text.split())
    return n > MAX_HEADING_WORDS or (n > 10 and bool(_SENTENCE_END.search(text)))


@dataclass(slots=True)
class _Group:
    """Consecutive paragraph/list blocks that become one passage."""

    blocks: list[Block] = field(default_factory=list)
    words: int = 0
    context: str = ""

    @property
    def kind(self) -> str:
        # "list_item": a list's items, with the lead-in that introduces them.
        return "list_item" if any(b.kind == "list_item" for b in self.blocks) else "paragraph"


@dataclass(slots=True)
class _Span:
    start: int
    end: int
    kind: str
    page: int | None
    heading: str
    context: str
    ocr_confidence: float | None = None


def _ocr_confidence(doc: Document, blocks: Iterable[Block]) -> float | None:
    """OCR confidence of a passage's blocks: their word-weighted mean over the blocks read by OCR.

    None (the passage's ``source`` is ``text``) when no block was read by OCR.
    """
    parts = [
        (b.ocr_confidence, len(doc.block_text(b).split())) for b in blocks if b.ocr_confidence is not None
    ]
    if not parts:
        return None
    words = sum(n for _, n in parts)
    if words == 0:
        return parts[0][0]
    return round(sum(c * n for c, n in parts) / words, 4)


def segment_document(doc: Document, *, max_words: int = DEFAULT_MAX_WORDS) -> list[Passage]:
    """Return the passages of ``doc`` in reading order.

    Ids are ``{doc_id}:{fingerprint[:10]}`` (with ``~2``, ``~3`` for repeated
    text in one document), so an id survives changes elsewhere in the
    document, and annotations keyed on it stay valid.

    Example:
        >>> from cocreation_nlp.ingest import assemble
        >>> from cocreation_nlp.readers import RawBlock
        >>> text, blocks = assemble([RawBlock("heading", "Aims"), RawBlock("paragraph", "We will:"),
        ...     RawBlock("list_item", "fund the tenants' association;"), RawBlock("list_item", "train caseworkers.")])
        >>> [(p.kind, p.heading, p.text == text[p.start_char:p.end_char]) for p in segment_document(Document("d", text, "d.txt", "text", blocks))]
        [('heading', '', True), ('list_item', 'Aims', True)]
    """
    headings: dict[int, str] = {}
    spans: list[_Span] = []
    body = [b for b in doc.blocks if b.kind not in ("header", "footer")]
    kinds: list[str] = []
    for b in body:
        kind = b.kind
        if kind == "heading" and heading_is_body(doc.block_text(b)):
            kind = "paragraph"
        kinds.append(kind)

    group = _Group()
    lead_in = ""

    def current_heading() -> str:
        return headings[max(headings)] if headings else ""

    def flush() -> None:
        nonlocal group
        if group.blocks:
            first, last = group.blocks[0], group.blocks[-1]
            text = doc.text[first.start_char : last.end_char]
            conf = _ocr_confidence(doc, group.blocks)
            for s, e in _chunks(text, first.start_char, doc.language, max_words):
                spans.append(_Span(s, e, group.kind, first.page, current_heading(), group.context, conf))
        group = _Group()

    for i, (block, kind) in enumerate(zip(body, kinds, strict=True)):
        text = doc.block_text(block)
        if kind == "heading":
            flush()
            lead_in = ""
            level = block.level or 2
            spans.append(
                _Span(
                    block.start_char,
                    block.end_char,
                    "heading",
                    block.page,
                    current_heading(),
                    "",
                    block.ocr_confidence,
                )
            )
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = text
            continue
        if kind == "table":
            flush()
            lead_in = ""
            for s, e in _table_chunks(text, block.start_char, max_words):
                spans.append(_Span(s, e, "table", block.page, current_heading(), "", block.ocr_confidence))
            continue
        n = len(text.split())
        nxt = kinds[i + 1] if i + 1 < len(kinds) else "heading"
        last_in_section = nxt in ("heading", "table")
        prev = group.blocks[-1] if group.blocks else None
        is_lead_in = prev is not None and doc.block_text(prev).rstrip().endswith(":")
        joins = (
            group.blocks
            and group.words + n <= max_words
            and (
                group.words < SHORT_WORDS
                or (kind == "list_item" and prev is not None and (prev.kind == "list_item" or is_lead_in))
                or (n < SHORT_WORDS and last_in_section)
            )
        )
        if joins:
            group.blocks.append(block)
            group.words += n
        else:
            # A list that runs on past the size limit keeps its lead-in as context.
            context = lead_in if kind == "list_item" and prev is not None and prev.kind == "list_item" else ""
            flush()
            group = _Group([block], n, context)
        if kind == "paragraph":
            lead_in = text if text.rstrip().endswith(":") else ""
    flush()
    return _passages(doc, spans)


_SENTENCE_BREAK = re.compile(r"[.!?…。！？؟]+['\"”’»)\]]*(?=\s+\S)")
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:e\.g|i\.e|etc|vs|nr|mr|mrs|ms|dr|prof|st|fig|pp|vol|art|cf|approx|incl|ca|bzw|z\.b|usw|ggf|vgl"
    r"|[a-z]|(?:[a-z]\.)+[a-z])\.$",
    re.I,
)


def count_sentences(text: str) -> int:
    """Number of sentences: sentence-final punctuation followed by more text, abbreviations aside.

    A counting rule, not a parse: on the training corpus it gives the same
    count as spaCy's rule-based sentencizer for 99% of passages, at a
    fraction of the cost (tokenising every passage was a fifth of ``parse``).

    Example:
        >>> count_sentences("Residents decide, e.g. on the budget. Officers advise! Done")
        3
    """
    n = 1
    for m in _SENTENCE_BREAK.finditer(text):
        if m.group()[0] == "." and _ABBREVIATION.search(text[max(0, m.start() - 12) : m.start() + 1]):
            continue
        n += 1
    return n


def _passages(doc: Document, spans: list[_Span]) -> list[Passage]:
    texts = [doc.text[sp.start : sp.end] for sp in spans]
    n_sentences = [
        1
        if sp.kind == "heading"
        else texts[i].count("\n") + 1
        if sp.kind == "table"
        else count_sentences(texts[i])
        for i, sp in enumerate(spans)
    ]
    seen: dict[str, int] = {}
    passages: list[Passage] = []
    for index, (sp, text) in enumerate(zip(spans, texts, strict=True)):
        fp = fingerprint(text)
        k = seen.get(fp, 0) + 1
        seen[fp] = k
        pid = f"{doc.doc_id}:{fp[:10]}" + (f"~{k}" if k > 1 else "")
        passages.append(
            Passage(
                passage_id=pid,
                doc_id=doc.doc_id,
                index=index,
                start_char=sp.start,
                end_char=sp.end,
                text=text,
                kind=sp.kind,  # type: ignore[arg-type]
                page=sp.page,
                heading=sp.heading,
                context=sp.context,
                n_words=len(text.split()),
                n_sentences=n_sentences[index],
                fingerprint=fp,
                language=doc.language,
                source="text" if sp.ocr_confidence is None else "ocr",
                ocr_confidence=sp.ocr_confidence,
            )
        )
    return passages


def labelling_units(passages: Iterable[Passage]) -> list[int]:
    """Indexes of the passages that are labelled, classified and scored (not headings or tables)."""
    return [i for i, p in enumerate(passages) if is_labelling_unit(p.kind)]


CONTEXT_JOIN = " — "


def passage_context(heading: str | None, lead_in: str | None = None) -> str:
    """The context a passage is read in: its heading, then a list's lead-in, joined.

    Annotators read a passage under its heading, and a lead-in such as "We
    will:" carries the verb of the items under it. Models trained with context
    (the fine-tuned tier) read this string as the second segment of a sentence
    pair; every code path that classifies passages (``score``, ``classify``,
    training and evaluation) builds it here, so that they all give the model
    the same input.

    Example:
        >>> passage_context("Our approach", "We will:")
        'Our approach — We will:'
        >>> passage_context("", None)
        ''
    """
    return CONTEXT_JOIN.join(s.strip() for s in (heading or "", lead_in or "") if s and s.strip())
