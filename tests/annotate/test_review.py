"""Who reviews, and what the reviewer starts from: the default reviewer and the preselection rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cocreation_nlp.annotate.adjudication import PRESELECT_RULE, preselect
from cocreation_nlp.annotate.cli import annotate_app
from cocreation_nlp.annotate.store import AnnotationStore, PassageRow
from cocreation_nlp.codebook import LABELS

TEXT = "Residents of the three estates and district nurses shaped the new walk-in service together."


def test_preselection_with_two_coders_who_disagree_is_not_empty(tmp_path: Path):
    store = AnnotationStore(tmp_path / "p.db")
    store.add_passages([PassageRow(f"d:{i}", "d", f"{TEXT} ({i})", index=i) for i in range(4)])
    store.save_decision("d:0", "ada", ["individual"])
    store.save_decision("d:0", "bob", ["collective"])
    store.save_decision("d:1", "ada", ["equity", "consultation"])
    store.save_decision("d:1", "bob", ["equity"])
    for name, labels in [("ada", ["systemic"]), ("bob", []), ("cy", [])]:
        store.save_decision("d:2", name, labels)
    for name, labels in [("ada", ["equity"]), ("bob", ["equity", "individual"]), ("cy", ["individual"])]:
        store.save_decision("d:3", name, labels)
    got = {item["passage"]["passage_id"]: item["suggestion"] for item in store.disagreements()}
    assert got == {
        "d:0": ["individual", "collective"],  # a tie: both coders' labels, to confirm or remove
        "d:1": ["consultation", "equity"],  # codebook order
        "d:2": [],  # one of three is no majority
        "d:3": ["individual", "equity"],  # two of three each
    }
    store.close()


def test_preselect_rule_edges():
    assert preselect([], LABELS) == []
    assert preselect([{"equity"}], LABELS) == ["equity"]  # a flagged single decision: its labels
    assert preselect([set(), set()], LABELS) == []
    assert preselect([{"equity"}, {"equity"}, set(), set()], LABELS) == ["equity"]  # 2 of 4 is half
    assert "at least half" in PRESELECT_RULE


def test_claim_review_only_when_nobody_reviews(tmp_path: Path):
    store = AnnotationStore(tmp_path / "p.db")
    assert store.is_reviewer("anyone")  # a project made by a script: open until someone claims it
    assert store.claim_review(" maria ") == (["maria"], True)
    assert store.is_reviewer("maria") and not store.is_reviewer("jo")
    assert store.claim_review("jo") == (["maria"], False)
    assert store.get_setting("reviewers") == ["maria"]
    store.close()


@pytest.fixture()
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    return calls


def test_serve_makes_the_person_who_starts_it_the_only_reviewer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_server: list[dict]
):
    import getpass

    db = tmp_path / "p.db"
    AnnotationStore(db).close()
    runner = CliRunner()
    monkeypatch.setattr(getpass, "getuser", lambda: "maria")
    first = runner.invoke(annotate_app, ["serve", str(db)])
    assert first.exit_code == 0, first.output
    assert "Reviewer: maria (you, who started the server)" in first.output
    assert "sign in as 'maria' to adjudicate" in first.output
    # Someone else starts it later: the project's reviewer stays, and the start-up line says who it is.
    monkeypatch.setattr(getpass, "getuser", lambda: "jo")
    second = runner.invoke(annotate_app, ["serve", str(db)])
    assert second.exit_code == 0, second.output
    assert "Reviewers (may adjudicate): maria." in second.output
    # --reviewer names them explicitly.
    third = runner.invoke(annotate_app, ["serve", str(db), "--reviewer", "jo", "--reviewer", "lee"])
    assert third.exit_code == 0, third.output
    assert "Reviewers (may adjudicate): jo, lee." in third.output
    assert len(no_server) == 3
    store = AnnotationStore(db)
    assert store.get_setting("reviewers") == ["jo", "lee"]
    store.close()
