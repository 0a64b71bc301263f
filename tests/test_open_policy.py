"""Proof on real documents: every open-policy training document shipped in ``corpora/open-policy`` parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from cocreation_nlp.ingest import read_documents
from cocreation_nlp.segment import segment_document
from cocreation_nlp.types import Document, ParseFailure


@pytest.mark.slow
def test_open_policy_every_document_parses(open_policy_dir: Path) -> None:
    results = list(read_documents([open_policy_dir / "manifest.csv"]))
    failures = [r for r in results if isinstance(r, ParseFailure)]
    assert not failures, failures
    docs = [r for r in results if isinstance(r, Document)]
    assert len(docs) == 41
    assert {d.meta["split"] for d in docs} == {"train"}  # reserved documents are never copied in
    langs = {d.doc_id: d.language for d in docs}
    assert langs["de-digitalcheck-begleitende-dokumentation"] == "de"
    assert langs["es-ciudades-abiertas-procesos-participativos"] == "es"
    assert langs["it-interlink-foglio-informativo"] == "it"
    assert langs["nl-algoritmekader-belanghebbenden"] == "nl"
    assert langs["gc-guide-numerique-collaborer-largement"] == "fr"
    for doc in docs:
        passages = segment_document(doc)
        assert passages, doc.doc_id
        for p in passages:
            assert doc.text[p.start_char : p.end_char] == p.text
        if doc.format == "pdf":
            assert all(p.page is not None and 1 <= p.page <= (doc.n_pages or 0) for p in passages)
