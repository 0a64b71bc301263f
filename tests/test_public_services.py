"""The public-services corpus: every document parses, and its splits follow the doc_id hash rule.

Reserved documents are parsed like any other (they are how the project's claims get checked), but
nothing here reads their labels: they have none.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from cocreation_nlp.ingest import read_documents
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, ParseFailure

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpora" / "public-services"


def _split_rule():
    spec = importlib.util.spec_from_file_location("assign_split", ROOT / "scripts" / "assign_split.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.split_for


def test_splits_follow_the_hash_rule() -> None:
    split_for = _split_rule()
    rows = list(csv.DictReader((CORPUS / "manifest.csv").open(newline="", encoding="utf-8")))
    assert len(rows) >= 60
    assert all(r["split"] == split_for(r["doc_id"]) for r in rows)
    reserved = sum(r["split"] == "reserved" for r in rows)
    assert 0.15 <= reserved / len(rows) <= 0.35
    assert sum(r["language"] in {"fr", "de", "es", "it", "nl"} for r in rows) >= 15
    for r in rows:
        assert (CORPUS / r["file"]).is_file(), r["file"]
        assert r["licence"] and r["licence_evidence"], r["doc_id"]


def test_split_rule_depends_on_the_id_only() -> None:
    split_for = _split_rule()
    ids = [f"doc-{i}" for i in range(2000)]
    share = sum(split_for(i) == "reserved" for i in ids) / len(ids)
    assert 0.2 < share < 0.3
    assert [split_for(i) for i in ids] == [split_for(i) for i in ids]


@pytest.mark.slow
def test_every_document_parses() -> None:
    results = list(read_documents([CORPUS / "manifest.csv"]))
    failures = [r for r in results if isinstance(r, ParseFailure)]
    assert not failures, failures
    docs = [r for r in results if isinstance(r, Document)]
    assert {d.meta["split"] for d in docs} == {"train", "reserved"}
    for doc in docs:
        passages = segment_document(doc)
        assert passages, doc.doc_id
        assert all(doc.text[p.start_char : p.end_char] == p.text for p in passages)
