from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocreation_nlp.cache import cache_path, read_cached, write_cached
from cocreation_nlp.config import RunConfig
from cocreation_nlp.ingest import Source
from cocreation_nlp.pipeline import ScoreJob, process_source
from cocreation_nlp.scored import ScoredDocument
from cocreation_nlp.types import ParseFailure

TEXT = (
    "Community plan\n\nResidents told us in workshops that the forms were too long.\n\n"
    "Nurses on the ward will work with patients as partners.\n\n"
    "The tenants' association will co-design the new service with residents.\n"
)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> ScoredDocument:
    folder = tmp_path_factory.mktemp("doc")
    (folder / "plan.txt").write_text(TEXT, encoding="utf-8")
    result = process_source(
        Source(folder / "plan.txt", "plan", {"file": "plan.txt", "year": "2024"}),
        ScoreJob("rules", RunConfig()),
    )
    assert isinstance(result, ScoredDocument)
    return result


def test_scored_document_round_trips_through_json(scored: ScoredDocument) -> None:
    back = ScoredDocument.from_dict(json.loads(json.dumps(scored.to_dict())))
    assert back == scored
    assert [sp.passage.text for sp in back.passages] == [sp.passage.text for sp in scored.passages]
    assert back.scores.evidence and back.scores.evidence == scored.scores.evidence


def test_scored_document_round_trips_through_the_cache(scored: ScoredDocument, tmp_path: Path) -> None:
    path = cache_path(tmp_path, "ab" + "0" * 30)
    write_cached(path, scored)
    assert path.parent.name == "ab" and read_cached(path) == scored


def test_scored_document_refuses_another_schema_and_broken_passages(scored: ScoredDocument) -> None:
    data = scored.to_dict()
    with pytest.raises(ValueError, match="schema_version"):
        ScoredDocument.from_dict({**data, "schema_version": 99})
    broken = json.loads(json.dumps(data))
    broken["passages"][0]["passage"]["end_char"] += 5  # offsets no longer match the text
    with pytest.raises(ValueError, match="does not match"):
        ScoredDocument.from_dict(broken)


def test_scored_passages_carry_predictions_in_codebook_order(scored: ScoredDocument) -> None:
    by_text = {sp.passage.text: sp.prediction for sp in scored.passages}
    nurses = by_text["Nurses on the ward will work with patients as partners."]
    assert "professionals" in nurses.applied and nurses.probability("professionals") >= 0.5
    assert nurses.evidence["professionals"] == ("Nurses",)
    assert scored.model_covers_language and scored.meta["year"] == "2024"


def test_process_source_returns_a_failure_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    result = process_source(Source(tmp_path / "empty.txt", "empty"), ScoreJob("rules", RunConfig()))
    assert isinstance(result, ParseFailure) and result.error_type == "empty"


def test_units_reach_the_model_with_their_heading_as_context(tmp_path: Path, monkeypatch) -> None:
    """`score` gives a model each unit's heading (the context a fine-tuned model reads); headings stay unclassified."""
    import cocreation_nlp.pipeline as pipeline
    from cocreation_nlp.classify import RuleClassifier

    seen: list[tuple[list[str], list[str] | None]] = []

    class Recorder(RuleClassifier):
        def predict_texts(self, texts, languages, contexts=None):  # noqa: ANN001, ANN201
            seen.append((list(texts), None if contexts is None else list(contexts)))
            return super().predict_texts(texts, languages, contexts)

    monkeypatch.setattr(pipeline, "load_classifier", lambda model: Recorder())
    (tmp_path / "plan.md").write_text(
        "# Our approach\n\nResidents told us in workshops that the forms were too long.\n\n"
        "# Staff\n\nNurses on the ward will work with patients as partners.\n",
        encoding="utf-8",
    )
    doc = process_source(Source(tmp_path / "plan.md", "plan", {}), ScoreJob("rules", RunConfig()))
    assert isinstance(doc, ScoredDocument)
    [(texts, contexts)] = seen
    assert texts == [
        "Residents told us in workshops that the forms were too long.",
        "Nurses on the ward will work with patients as partners.",
    ]
    assert contexts == ["Our approach", "Staff"]
    headings = [sp for sp in doc.passages if sp.passage.kind == "heading"]
    assert len(headings) == 2 and all(not sp.prediction.in_scope for sp in headings)
