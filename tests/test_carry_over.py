"""Carrying annotation records across a change of segmentation (cocreation_nlp.carry_over)."""

from __future__ import annotations

from pathlib import Path

from cocreation_nlp.annotate.records import AnnotationRecord
from cocreation_nlp.carry_over import OldDocument, OldPassage, carry_over, read_snapshot, write_snapshot
from cocreation_nlp.ingest import assemble
from cocreation_nlp.readers import RawBlock
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, Passage, fingerprint

LEAD = "The council will do three things with the tenants of the estate:"
ITEMS = ["fund the tenants' association for three years;", "train its caseworkers with the tenants;"]
SAME = "Residents sit on the repairs board and decide the priorities with officers every year."
CHANGED = "The panel reports to the full council twice a year in a public session."


def _old_doc() -> OldDocument:
    # The old segmentation: every block a passage of its own.
    texts = [SAME, LEAD, *ITEMS, "Spending is published online every quarter by the council.", CHANGED]
    passages, pos, text = [], 0, ""
    for t in texts:
        if text:
            text += "\n\n"
            pos += 2
        passages.append(OldPassage(f"d:{fingerprint(t)[:10]}", fingerprint(t), pos, pos + len(t), t))
        text += t
        pos += len(t)
    return OldDocument("d", text, passages)


def _new_passages() -> list[Passage]:
    blocks = [
        RawBlock("heading", "Repairs"),
        RawBlock("paragraph", SAME),
        RawBlock("paragraph", LEAD),
        *[RawBlock("list_item", t) for t in ITEMS],
        RawBlock("paragraph", "Spending is published online every quarter by the council and by the board."),
        RawBlock("paragraph", CHANGED),
    ]
    text, bl = assemble(blocks)
    return segment_document(Document("d", text, "d.md", "markdown", bl, language="en"))


def _rec(old: OldDocument, i: int, labels: list[str], annotator: str = "ann-a", **kw) -> AnnotationRecord:
    p = old.passages[i]
    return AnnotationRecord(
        doc_id="d",
        passage_id=p.passage_id,
        fingerprint=p.fingerprint,
        start_char=p.start_char,
        end_char=p.end_char,
        labels=labels,
        annotator=annotator,
        created_at=f"2026-11-2{i}T10:00:00Z",
        codebook_version="1.1",
        comment=kw.pop("comment", ""),
        **kw,
    )


def test_carry_over_exact_union_and_relabel() -> None:
    old = _old_doc()
    new = _new_passages()
    by_text = {p.text: p for p in new}
    pass1 = [
        _rec(old, 0, ["collective", "cocreation"], comment="board"),
        _rec(old, 1, ["consultation"]),
        _rec(old, 2, ["consultation"]),
        _rec(old, 3, ["consultation"], annotator="ann-b"),
        _rec(old, 4, []),
        _rec(old, 5, ["systemic"]),
    ]
    result = carry_over({"pass1": pass1}, {"d": old}, {"d": new})
    recs = result.records["pass1"]
    # exact: same text, new id and offsets, annotator, comment and time kept, a history note added
    same = by_text[SAME]
    first = recs[0]
    assert (first.passage_id, first.fingerprint, first.start_char) == (
        same.passage_id,
        same.fingerprint,
        same.start_char,
    )
    assert (
        first.labels == ["collective", "cocreation"]
        and first.comment == "board"
        and first.annotator == "ann-a"
    )
    assert first.created_at == pass1[0].created_at
    assert (
        first.history[-1].comment.startswith("carried over")
        and pass1[0].passage_id in first.history[-1].comment
    )
    # union: lead-in + two items, all "consultation": one record for the grouped passage (the latest one's)
    grouped = next(p for p in new if p.text.startswith(LEAD))
    merged = [r for r in recs if r.passage_id == grouped.passage_id]
    assert len(merged) == 1 and merged[0].labels == ["consultation"] and merged[0].annotator == "ann-b"
    assert (merged[0].start_char, merged[0].end_char) == (grouped.start_char, grouped.end_char)
    # CHANGED is unchanged text: carried exactly
    assert any(r.passage_id == by_text[CHANGED].passage_id and r.labels == ["systemic"] for r in recs)
    # the spending sentence grew: its record stays as it was and its new passage is queued for relabelling
    assert pass1[4] in recs
    assert [it.text for it in result.relabel] == [
        "Spending is published online every quarter by the council and by the board."
    ]
    assert result.relabel[0].old_pieces[0]["labels"] == []
    c = result.counts["pass1"]
    assert c["exact_moved"] == 2 and c["union_records_merged"] == 3 and c["union_records_written"] == 1
    assert c["reported_relabel"] == 1
    # every carried record resolves against the new passages by fingerprint
    fps = {p.fingerprint for p in new}
    assert all(r.fingerprint in fps for r in recs if r is not pass1[4])


def test_carry_over_union_needs_every_piece_with_the_same_final_labels() -> None:
    old = _old_doc()
    new = _new_passages()
    grouped = next(p for p in new if p.text.startswith(LEAD))
    # one item disagrees: no union, the grouped passage goes to the relabel queue
    pass1 = [_rec(old, 1, ["consultation"]), _rec(old, 2, ["consultation"]), _rec(old, 3, ["individual"])]
    result = carry_over({"pass1": pass1}, {"d": old}, {"d": new})
    assert not any(r.passage_id == grouped.passage_id for r in result.records["pass1"])
    assert [it.passage_id for it in result.relabel] == [grouped.passage_id]
    assert len(result.relabel[0].old_pieces) == 3
    # the pieces agree in pass1 but a gold decision overrides one of them: still no union
    pass1 = [_rec(old, i, ["consultation"]) for i in (1, 2, 3)]
    gold = [_rec(old, 3, [], annotator="rev", gold=True)]
    result = carry_over({"pass1": pass1, "adjudicated": gold}, {"d": old}, {"d": new})
    assert not any(r.passage_id == grouped.passage_id for r in result.records["pass1"])
    # a piece that was never labelled: no union either
    result = carry_over({"pass1": pass1[1:]}, {"d": old}, {"d": new})
    assert not any(r.passage_id == grouped.passage_id for r in result.records["pass1"])


def test_snapshot_round_trip(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.md").write_text(f"# Plan\n\n{SAME}\n\n{CHANGED}\n", encoding="utf-8")
    path = tmp_path / "snap.jsonl"
    assert write_snapshot(path, [corpus]) == 1
    docs = read_snapshot(path)
    doc = docs["a"]
    assert [p.text for p in doc.passages][1:] == [SAME, CHANGED]
    assert all(doc.text[p.start_char : p.end_char] == p.text for p in doc.passages)
