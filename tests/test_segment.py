from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cocreation_nlp.ingest import assemble
from cocreation_nlp.readers import RawBlock, ReadResult
from cocreation_nlp.readers.markdown import parse_markdown
from cocreation_nlp.readers.text import parse_plain_text
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, fingerprint, is_labelling_unit


def _doc(result, doc_id: str = "d") -> Document:  # noqa: ANN001
    text, blocks = assemble(result.blocks)
    return Document(doc_id, text, f"{doc_id}.txt", "text", blocks, language="en")


def assemble_blocks(blocks: list[RawBlock]) -> ReadResult:
    return ReadResult(blocks=blocks)


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


def test_segment_headings_are_rows_and_context() -> None:
    doc = _doc(
        parse_markdown(
            "# Strategy\n\n## Working with residents\n\n"
            "Residents sit on the board and decide the budget with officers every year.\n"
        )
    )
    passages = segment_document(doc)
    assert [(p.kind, p.text) for p in passages] == [
        ("heading", "Strategy"),
        ("heading", "Working with residents"),
        ("paragraph", "Residents sit on the board and decide the budget with officers every year."),
    ]
    # Two headings in a row: both kept; the inner one has the outer as its context.
    assert [p.heading for p in passages] == ["", "Strategy", "Working with residents"]
    assert [is_labelling_unit(p.kind) for p in passages] == [False, False, True]


def test_segment_overlong_heading_is_body_text() -> None:
    body = "Residents were asked to comment on every draft of the plan and " * 3
    doc = _doc(assemble_blocks([RawBlock("heading", "Aims"), RawBlock("heading", body.strip() + ".")]))
    passages = segment_document(doc)
    assert [p.kind for p in passages] == ["heading", "paragraph"]
    assert passages[1].heading == "Aims"


def test_segment_list_items_grouped_with_lead_in() -> None:
    doc = _doc(
        assemble_blocks(
            [
                RawBlock("paragraph", "We will do three things with the tenants of the estate:", page=2),
                RawBlock("list_item", "fund the tenants' association;", page=2),
                RawBlock("list_item", "train caseworkers;", page=3),
                RawBlock("list_item", "publish the minutes.", page=3),
                RawBlock("paragraph", "The board meets every month and its decisions are published online."),
            ]
        )
    )
    passages = segment_document(doc)
    assert len(passages) == 2
    first = passages[0]
    assert first.kind == "list_item" and first.page == 2
    assert first.text == doc.text[first.start_char : first.end_char]
    assert first.text.startswith("We will do three things") and first.text.endswith("publish the minutes.")
    assert passages[1].text.startswith("The board meets")


def test_segment_long_list_continues_with_lead_in_as_context() -> None:
    items = [
        RawBlock("list_item", f"item {i} " + "with a long explanation of what is planned " * 3)
        for i in range(12)
    ]
    doc = _doc(assemble_blocks([RawBlock("paragraph", "The council will:"), *items]))
    passages = segment_document(doc, max_words=60)
    assert len(passages) > 2
    assert all(p.n_words <= 60 for p in passages)
    assert passages[0].text.startswith("The council will:") and passages[0].context == ""
    assert all(p.context == "The council will:" for p in passages[1:])
    joined = " ".join(" ".join(p.text.split()) for p in passages)
    assert joined == " ".join(doc.text.split())  # nothing lost, nothing repeated


def test_segment_short_lines_join_their_paragraph() -> None:
    doc = _doc(
        assemble_blocks(
            [
                RawBlock("heading", "Contact"),
                RawBlock("paragraph", "Erläuterung:"),
                RawBlock(
                    "paragraph",
                    "Residents can write to the panel at any time and will get an answer in ten days.",
                ),
                RawBlock("paragraph", "Date: 2021"),
                RawBlock("heading", "Next"),
                RawBlock(
                    "paragraph", "The panel reports to the full council twice a year in public session."
                ),
            ]
        )
    )
    passages = segment_document(doc)
    assert [p.kind for p in passages] == ["heading", "paragraph", "heading", "paragraph"]
    assert passages[1].text.startswith("Erläuterung:") and passages[1].text.endswith("Date: 2021")


def test_segment_tables_kept_whole_and_not_labelled() -> None:
    table = "Year | Budget | Projects\n2022 | 1,200,000 | 14\n2023 | 1,450,000 | 19"
    doc = _doc(assemble_blocks([RawBlock("heading", "Budget"), RawBlock("table", table)]))
    passages = segment_document(doc)
    assert [p.kind for p in passages] == ["heading", "table"]
    assert passages[1].text == table  # numeric cells kept, one row per line
    assert not is_labelling_unit("table")
    big = "\n".join(f"{y} | {y * 3} | {y * 7}" for y in range(2000, 2100))
    chunks = segment_document(_doc(assemble_blocks([RawBlock("table", big)])), max_words=40)
    assert len(chunks) > 1 and all(p.kind == "table" for p in chunks)
    assert "\n".join(p.text for p in chunks) == big


def test_segment_ids_stable_when_other_passages_change() -> None:
    second = "The second paragraph stays exactly as it was written by the author."
    a = segment_document(
        _doc(parse_plain_text(f"The first paragraph was written one way by the author.\n\n{second}"))
    )
    b = segment_document(
        _doc(parse_plain_text(f"A different opening paragraph is here now, written again.\n\n{second}"))
    )
    assert a[1].passage_id == b[1].passage_id
    assert a[0].passage_id != b[0].passage_id
