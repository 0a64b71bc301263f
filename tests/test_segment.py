from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cocreation_nlp.ingest import assemble
from cocreation_nlp.readers.markdown import parse_markdown
from cocreation_nlp.readers.text import parse_plain_text
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, fingerprint


def _doc(result, doc_id: str = "d") -> Document:  # noqa: ANN001
    text, blocks = assemble(result.blocks)
    return Document(doc_id, text, f"{doc_id}.txt", "text", blocks, language="en")


def _check_invariants(doc: Document) -> None:
    passages = segment_document(doc, max_words=40)
    prev_end = -1
    ids = set()
    for i, p in enumerate(passages):
        assert doc.text[p.start_char : p.end_char] == p.text
        assert p.start_char >= prev_end, "passages overlap or are out of order"
        assert p.index == i
        assert p.fingerprint == fingerprint(p.text)
        assert p.passage_id not in ids
        ids.add(p.passage_id)
        prev_end = p.end_char


words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=0, max_size=12
)
lines = st.lists(
    st.one_of(words, st.just("- "), st.just("# "), st.just("."), st.just("\n"), st.just("| a | b |")),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(lines)
def test_segment_offsets_slice_text_plain(parts: list[str]) -> None:
    _check_invariants(_doc(parse_plain_text(" ".join(parts))))


@settings(max_examples=150, deadline=None)
@given(lines)
def test_segment_offsets_slice_text_markdown(parts: list[str]) -> None:
    _check_invariants(_doc(parse_markdown("\n".join(parts))))


def test_segment_long_block_split_at_sentences() -> None:
    sentence = "Residents and nurses redesigned the discharge process together over six months. "
    doc = _doc(parse_plain_text(sentence * 30))
    passages = segment_document(doc, max_words=50)
    assert len(passages) > 1
    assert all(p.text.endswith(".") for p in passages)
    assert all(p.n_words <= 50 for p in passages)
    assert sum(p.n_sentences for p in passages) == 30


def test_segment_headings_are_context_not_passages() -> None:
    doc = _doc(
        parse_markdown(
            "# Strategy\n\n## Working with residents\n\nResidents sit on the board.\n\n- one item\n"
        )
    )
    passages = segment_document(doc)
    assert [p.text for p in passages] == ["Residents sit on the board.", "one item"]
    assert [p.heading for p in passages] == ["Working with residents", "Working with residents"]
    assert passages[1].kind == "list_item"


def test_segment_list_item_keeps_lead_in_as_context() -> None:
    doc = _doc(parse_markdown("We will:\n\n- fund the tenants' association\n- train caseworkers\n"))
    passages = segment_document(doc)
    assert [p.context for p in passages] == ["", "We will:", "We will:"]


def test_segment_ids_stable_when_other_passages_change() -> None:
    a = segment_document(_doc(parse_plain_text("First paragraph here.\n\nSecond paragraph stays.")))
    b = segment_document(_doc(parse_plain_text("A different opening.\n\nSecond paragraph stays.")))
    assert a[1].passage_id == b[1].passage_id
    assert a[0].passage_id != b[0].passage_id
