"""Resolving standoff annotations: a record found only by its offsets must not enter training twice."""

from __future__ import annotations

from pathlib import Path

from cocreation_nlp.annotate.records import AnnotationRecord
from cocreation_nlp.annotations import resolve_records
from cocreation_nlp.ingest import discover, read_one
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import fingerprint

P1 = (
    "Residents told the council in six open meetings what they needed from the new library. "
    "The council then asked the tenants' association to run the reading room with its own volunteers."
)
P2 = (
    "Nurses and care workers met weekly to change how home visits are planned with the families they serve. "
    "Their managers agreed to keep the weekly meeting after the pilot ended."
)


def _record(doc: str, start: int, end: int, text: str, labels: list[str], pid: str) -> AnnotationRecord:
    return AnnotationRecord(
        doc_id=doc,
        passage_id=pid,
        fingerprint=fingerprint(text),
        start_char=start,
        end_char=end,
        labels=labels,
        annotator="t",
        created_at="2026-01-01T00:00:00Z",
        codebook_version="1.1",
    )


def test_offset_fallback_never_duplicates_a_labelled_passage_or_labels_a_heading(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.md").write_text(
        f"# Library plan for the north district\n\n{P1}\n\n{P2}\n", encoding="utf-8"
    )
    (src,) = discover([corpus])
    doc = read_one(src)
    passages = segment_document(doc)
    by_text = {p.text: p for p in passages}
    p1, p2 = by_text[P1], by_text[P2]
    heading = next(p for p in passages if p.kind == "heading")
    first_sentence = P1.split(". ")[0] + "."
    s1 = doc.text.index(first_sentence)
    p2_sentence = P2.split(". ")[0] + "."
    s2 = doc.text.index(p2_sentence)
    records = [
        # The whole first paragraph, labelled as it is segmented today.
        _record(
            doc.doc_id,
            p1.start_char,
            p1.end_char,
            P1,
            ["individual", "collective", "cocreation"],
            p1.passage_id,
        ),
        # An older record of its first sentence alone: the paragraph's own decision supersedes it.
        _record(
            doc.doc_id, s1, s1 + len(first_sentence), first_sentence, ["individual", "consultation"], "old:1"
        ),
        # An older record of what is now the heading: the codebook labels no heading.
        _record(doc.doc_id, heading.start_char, heading.end_char, heading.text, ["individual"], "old:0"),
        # An older record of part of a paragraph nobody labelled since: still usable by its offsets.
        _record(doc.doc_id, s2, s2 + len(p2_sentence), p2_sentence, ["professionals"], "old:2"),
    ]
    data = resolve_records(records, [corpus])
    assert sorted(data.texts) == sorted([P1, p2_sentence])
    stale = {r.passage_id: why for r, why in data.stale}
    assert stale["old:1"].startswith("superseded") and p1.passage_id in stale["old:1"]
    assert stale["old:0"].startswith("text is now a heading")
    assert p2.passage_id not in stale
