"""Stage 2: turn a document's blocks into passages, the unit of labelling.

Paragraphs, list items and table cells become passages; headings become the
``heading`` of the passages under them; running headers and footers are
dropped. A very long block is cut at sentence boundaries so that no passage
mixes many topics. spaCy (a blank pipeline with a sentencizer, which works
offline) is used here and nowhere else in the ingest path.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .types import Document, Passage, fingerprint

DEFAULT_MAX_WORDS = 250
_HAS_LETTER = re.compile(r"[^\W\d_]")
SPACY_LANGS = ("en", "fr", "de", "es", "it", "nl", "pt", "da", "sv", "pl")


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


def segment_document(doc: Document, *, max_words: int = DEFAULT_MAX_WORDS) -> list[Passage]:
    """Return the passages of ``doc`` in reading order.

    Ids are ``{doc_id}:{fingerprint[:10]}`` (with ``~2``, ``~3`` for repeated
    text in one document), so an id survives changes elsewhere in the
    document, and annotations keyed on it stay valid.

    Example:
        >>> from cocreation_nlp.ingest import assemble
        >>> from cocreation_nlp.readers import RawBlock
        >>> text, blocks = assemble([RawBlock("heading", "Aims"), RawBlock("paragraph", "Residents decide.")])
        >>> p = segment_document(Document("d", text, "d.txt", "text", blocks))[0]
        >>> (p.heading, p.text, text[p.start_char:p.end_char] == p.text)
        ('Aims', 'Residents decide.', True)
    """
    headings: dict[int, str] = {}
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    lead_in = ""
    prev_kind = ""
    spans: list[tuple[int, int, str, int | None, str, str]] = []
    for block in doc.blocks:
        text = doc.block_text(block)
        if block.kind == "heading":
            level = block.level or 2
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = text
            prev_kind = "heading"
            continue
        if block.kind in ("header", "footer"):
            continue
        if not _HAS_LETTER.search(text):
            continue
        heading = headings[max(headings)] if headings else ""
        if block.kind == "list_item":
            context = lead_in if prev_kind in ("list_item", "lead_in") else ""
            prev_kind = "list_item" if context or prev_kind == "list_item" else prev_kind
        else:
            context = ""
        for s, e in _chunks(text, block.start_char, doc.language, max_words):
            spans.append((s, e, block.kind, block.page, heading, context))
        if block.kind == "paragraph":
            lead_in = text if text.rstrip().endswith(":") else ""
            prev_kind = "lead_in" if lead_in else "paragraph"
        elif block.kind != "list_item":
            prev_kind = block.kind
    nlp = sentence_pipeline(doc.language)
    texts = [doc.text[s:e] for s, e, *_ in spans]
    for index, (doc_sp, (s, e, kind, page, heading, context)) in enumerate(
        zip(nlp.pipe(texts, batch_size=256), spans, strict=True)
    ):
        text = texts[index]
        fp = fingerprint(text)
        n = seen.get(fp, 0) + 1
        seen[fp] = n
        pid = f"{doc.doc_id}:{fp[:10]}" + (f"~{n}" if n > 1 else "")
        passages.append(
            Passage(
                passage_id=pid,
                doc_id=doc.doc_id,
                index=index,
                start_char=s,
                end_char=e,
                text=text,
                kind=kind,  # type: ignore[arg-type]
                page=page,
                heading=heading,
                context=context,
                n_words=len(text.split()),
                n_sentences=sum(1 for _ in doc_sp.sents),
                fingerprint=fp,
                language=doc.language,
            )
        )
    return passages
