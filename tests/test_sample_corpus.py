"""Per-format parsing tests on the sample corpus written for the project (corpora/sample)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from cocreation_nlp.ingest import read_documents
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, Passage


@pytest.fixture(scope="module")
def parsed(sample_dir: Path) -> dict[str, tuple[Document, list[Passage]]]:
    out = {}
    for doc in read_documents([sample_dir]):
        assert isinstance(doc, Document), doc
        out[doc.doc_id] = (doc, segment_document(doc))
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_sample_every_format_parses(parsed: dict) -> None:
    formats = {doc.format for doc, _ in parsed.values()}
    assert formats == {"pdf", "docx", "html", "markdown", "text"}
    assert len(parsed) == 14
    assert all(len(ps) >= 8 for _, ps in parsed.values())


def _scanned(sample_dir: Path) -> set[str]:
    with (sample_dir / "expected.csv").open(encoding="utf-8") as fh:
        return {r["doc_id"] for r in csv.DictReader(fh) if r["format"] == "scan"}


def test_sample_author_passages_recovered_verbatim(parsed: dict, sample_dir: Path) -> None:
    # The corpus author wrote every paragraph and list item: each must come out whole, exactly, inside
    # one passage (a list item shares its passage with the lead-in and the other items of its list;
    # scanned documents: see the OCR test below).
    rows = list(csv.DictReader((sample_dir / "author_labels.csv").open(encoding="utf-8")))
    scanned = _scanned(sample_dir)
    missing = []
    for row in rows:
        if row["doc_id"] in scanned:
            continue
        texts = [_norm(p.text) for p in parsed[row["doc_id"]][1]]
        if not any(_norm(row["text"]) in t for t in texts):
            missing.append((row["doc_id"], row["text"][:80]))
    assert not missing, missing


def test_sample_scanned_document_read_by_ocr(parsed: dict, sample_dir: Path) -> None:
    # The scanned report has no text layer: each author passage must come out as one passage,
    # word for word up to OCR's misreadings, on the page it is printed on.
    from cocreation_nlp.scans import word_recall

    (doc_id,) = _scanned(sample_dir)
    doc, passages = parsed[doc_id]
    assert doc.ocr_pages == doc.n_pages == 2 and not doc.warnings
    assert {p.source for p in passages} == {"ocr"}
    rows = [
        r
        for r in csv.DictReader((sample_dir / "author_labels.csv").open(encoding="utf-8"))
        if r["doc_id"] == doc_id
    ]
    matched = []
    for row in rows:
        best = max(passages, key=lambda p: word_recall(row["text"], p.text))
        assert word_recall(row["text"], best.text) >= 0.9 and word_recall(best.text, row["text"]) >= 0.9, row[
            "text"
        ]
        matched.append(best.index)
    assert len(set(matched)) == len(rows)
    assert (
        sum(word_recall(r["text"], parsed[doc_id][1][i].text) for r, i in zip(rows, matched, strict=True))
        / len(rows)
        >= 0.97
    )


def test_sample_pdf_running_headers_footers_removed(parsed: dict) -> None:
    for doc_id in (
        "greyfield-library-readers-review-2009",
        "northbridge-digital-strategy-2023",
        "valdoria-coproduced-social-services-strategy-2024",
        "valdoria-home-care-codesign-evaluation-2021",
        "northbridge-data-centre-closure-2020",
    ):
        doc, passages = parsed[doc_id]
        title = doc.meta["title"]
        for p in passages:
            assert not re.search(r"\bPage \d+ of \d+\b", p.text), p.text
            # The title is the running header of every page: it may stay only as the cover's heading.
            if title in p.text and len(p.text) <= 2 * len(title):
                assert p.kind == "heading" and p.page == 1, p
        assert all(p.page is not None for p in passages)
        assert max(p.page for p in passages) == doc.n_pages


def test_sample_pdf_hyphenation_repaired_compounds_kept(parsed: dict) -> None:
    text = " ".join(p.text for p in parsed["valdoria-coproduced-social-services-strategy-2024"][1])
    text += " " + " ".join(p.text for p in parsed["northbridge-digital-strategy-2023"][1])
    assert "co-production" in text and "co-produced" in text
    assert not re.search(r"\bco production\b|\bcoproduction\b", text)
    for broken in ("organisa-tions", "deci-sions", "neigh-bourhoods", "tele-phone"):
        assert broken not in text
        assert broken.replace("-", "") in text


def test_sample_pdf_lists_and_tables(parsed: dict) -> None:
    kinds = {
        p.kind
        for doc_id in ("northbridge-digital-strategy-2023", "valdoria-home-care-codesign-evaluation-2021")
        for p in parsed[doc_id][1]
    }
    assert "list_item" in kinds


def test_sample_docx_headers_tagged_tables_read(parsed: dict) -> None:
    doc, passages = parsed["northbridge-family-partnership-plan-2022"]
    kinds = [b.kind for b in doc.blocks]
    assert "header" in kinds and "footer" in kinds
    header_texts = {doc.block_text(b) for b in doc.blocks if b.kind in ("header", "footer")}
    # (the document's title may also open the body as its heading: that one is content)
    assert not header_texts & {p.text for p in passages if p.kind != "heading"}
    assert any(p.kind == "table" and "\n" in p.text and " | " in p.text for p in passages)
    assert any(p.kind == "list_item" for p in passages)


def test_sample_html_boilerplate_removed(parsed: dict) -> None:
    for doc_id in ("port-halden-participatory-budget-2022", "riverside-coproduction-report-2023"):
        text = " ".join(p.text for p in parsed[doc_id][1]).lower()
        assert "cookie" not in text
        assert "skip to main content" not in text


def test_sample_markdown_front_matter_removed(parsed: dict) -> None:
    doc, passages = parsed["valdoria-tenancy-consultation-2020"]
    assert not doc.text.startswith("---")
    assert not any(p.text.startswith(("title:", "date:", "tags:")) for p in passages)
    assert all("**" not in p.text and "](" not in p.text for p in passages)


def test_sample_language_detected(parsed: dict) -> None:
    langs = {doc_id: doc.language for doc_id, (doc, _) in parsed.items()}
    assert langs.pop("montclair-plan-solidarites-2025") == "fr"
    assert set(langs.values()) == {"en"}


def test_sample_headings_are_context(parsed: dict) -> None:
    for _, passages in parsed.values():
        assert sum(1 for p in passages if p.heading) >= len(passages) * 0.6


def test_sample_parsing_is_deterministic(sample_dir: Path, parsed: dict) -> None:
    again = {
        doc.doc_id: [p.passage_id for p in segment_document(doc)] for doc in read_documents([sample_dir])
    }
    assert again == {k: [p.passage_id for p in v[1]] for k, v in parsed.items()}


def test_sample_corpus_builder_check_passes() -> None:
    """The committed sample corpus is what its sources build (scripts/build_sample_corpus.py --check)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(root / "scripts" / "build_sample_corpus.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
